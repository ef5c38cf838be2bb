"""``TrainingInstance`` and ``PredictorInstance``: where a job or an endpoint runs, validated.

Instance types are checked against the lists in botocore's SageMaker API model (the enums of
TrainingInstanceType and ProductionVariantInstanceType), so a typo fails here, with the
closest valid names, instead of minutes later in CreateTrainingJob.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass

from sagestack.contract.stopping import MAX_RUNTIME_S, default_max_wait_s

LOCAL = "local"
SERVERLESS_MEMORY_MIB = (1024, 2048, 3072, 4096, 5120, 6144)


@functools.cache
def _instance_types(shape: str) -> frozenset[str]:
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return frozenset(model.shape_for(shape).enum)


def training_instance_types() -> frozenset[str]:
    """Every instance type CreateTrainingJob accepts (this botocore's list)."""
    return _instance_types("TrainingInstanceType")


def endpoint_instance_types() -> frozenset[str]:
    """Every instance type an endpoint variant accepts (this botocore's list)."""
    return _instance_types("ProductionVariantInstanceType")


def _fail(owner: str, field: str, value: object, expected: str) -> None:
    raise ValueError(f"{owner}.{field} = {value!r}: {expected}")


def _check_int(owner: str, field: str, value: object, low: int, high: int, unit: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        _fail(owner, field, value, f"an integer from {low} to {high} ({unit})")


def _check_type(owner: str, value: object, known: frozenset[str], example: str) -> None:
    if value == LOCAL:
        return
    if not isinstance(value, str) or not value.startswith("ml."):
        _fail(
            owner,
            "instance_type",
            value,
            f"'local' (this machine) or a SageMaker instance type such as {example!r}",
        )
    assert isinstance(value, str)
    if value not in known:
        close = difflib.get_close_matches(value, sorted(known), n=3, cutoff=0.7)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        _fail(owner, "instance_type", value, f"not a SageMaker {owner} instance type{hint}")


@dataclass(frozen=True)
class TrainingInstance:
    """The compute of a training job.

    instance_type: ``"local"`` (this machine, no AWS) or an ``ml.*`` type such as
        ``ml.m5.xlarge`` (runs on the deployed stacks).
    count: instances (hosts ``algo-1..N``); default 1.
    volume_size_gib: ML storage volume per instance, KMS-encrypted; default 30.
    max_runtime_s: the job is stopped after this long; default one day.
    spot: managed spot training (checkpoints sync to S3 so an interrupted job resumes);
        default False.
    max_wait_s: with spot, how long to wait for capacity plus the run; default twice
        ``max_runtime_s`` (capped at 28 days).

    The deployed training definition (the bundled XGBoost model's path) fixes volume, runtime
    and spot in the Training stack; there only the type and the count are taken from here.
    """

    instance_type: str
    count: int = 1
    volume_size_gib: int = 30
    max_runtime_s: int = 86400
    spot: bool = False
    max_wait_s: int | None = None

    def __post_init__(self) -> None:
        owner = "TrainingInstance"
        _check_type(owner, self.instance_type, training_instance_types(), "ml.m5.xlarge")
        _check_int(owner, "count", self.count, 1, 100, "instances")
        _check_int(owner, "volume_size_gib", self.volume_size_gib, 1, 16384, "GiB")
        _check_int(owner, "max_runtime_s", self.max_runtime_s, 1, MAX_RUNTIME_S, "seconds")
        if not isinstance(self.spot, bool):
            _fail(owner, "spot", self.spot, "True or False")
        if self.max_wait_s is not None:
            if not self.spot:
                _fail(owner, "max_wait_s", self.max_wait_s, "only meaningful with spot=True")
            _check_int(
                owner, "max_wait_s", self.max_wait_s, self.max_runtime_s, MAX_RUNTIME_S, "seconds"
            )

    @property
    def is_local(self) -> bool:
        return self.instance_type == LOCAL

    @property
    def resolved_max_wait_s(self) -> int:
        """MaxWaitTimeInSeconds for a spot job."""
        return self.max_wait_s or default_max_wait_s(self.max_runtime_s)


@dataclass(frozen=True)
class PredictorInstance:
    """The compute of an endpoint: instances, or serverless memory and concurrency.

    ``PredictorInstance("ml.m5.large", count=2)`` or ``PredictorInstance("local")`` (a local
    server with ``count`` worker processes); ``PredictorInstance.serverless(2048, 5)`` for a
    serverless endpoint (memory 1024-6144 MiB in 1024 MiB steps, 1-200 concurrent requests).
    """

    instance_type: str | None = None
    count: int = 1
    memory_mib: int | None = None
    max_concurrency: int | None = None

    def __post_init__(self) -> None:
        owner = "PredictorInstance"
        if self.memory_mib is None and self.max_concurrency is None:
            if self.instance_type is None:
                _fail(
                    owner,
                    "instance_type",
                    None,
                    "give an instance type ('local', 'ml.m5.large', ...) or serverless "
                    "memory_mib and max_concurrency",
                )
            _check_type(owner, self.instance_type, endpoint_instance_types(), "ml.m5.large")
            _check_int(owner, "count", self.count, 1, 100, "instances")
            return
        if self.instance_type is not None:
            _fail(
                owner,
                "instance_type",
                self.instance_type,
                "leave it unset for a serverless endpoint (memory_mib/max_concurrency)",
            )
        if self.count != 1:
            _fail(owner, "count", self.count, "1 for a serverless endpoint (it scales itself)")
        if self.memory_mib not in SERVERLESS_MEMORY_MIB or isinstance(self.memory_mib, bool):
            _fail(
                owner,
                "memory_mib",
                self.memory_mib,
                f"1024 to 6144 in steps of 1024 ({', '.join(map(str, SERVERLESS_MEMORY_MIB))})",
            )
        _check_int(owner, "max_concurrency", self.max_concurrency, 1, 200, "concurrent requests")

    @classmethod
    def serverless(cls, memory_mib: int = 2048, max_concurrency: int = 5) -> PredictorInstance:
        return cls(memory_mib=memory_mib, max_concurrency=max_concurrency)

    @property
    def is_serverless(self) -> bool:
        return self.instance_type is None

    @property
    def is_local(self) -> bool:
        return self.instance_type == LOCAL
