"""Training props: what the training state machine does not take from its execution input."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from sagestack.contract import metrics, patterns
from sagestack.contract.stopping import MAX_RUNTIME_S, default_max_wait_s
from stacks.constructs import prop_checks

_METRIC_NAME_RE = re.compile(r"^[a-z0-9@_.-]+$", re.IGNORECASE)


class TrainingMode(enum.Enum):
    """How the XGBoost container runs: our training/ code, or its own algorithm."""

    SCRIPT = "script"
    ALGORITHM = "algorithm"


class MetricDirection(enum.Enum):
    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"


class S3Distribution(enum.Enum):
    FULLY_REPLICATED = "FullyReplicated"
    SHARDED_BY_S3_KEY = "ShardedByS3Key"


class ApprovalStatus(enum.Enum):
    PENDING_MANUAL_APPROVAL = "PendingManualApproval"
    APPROVED = "Approved"


@dataclass(frozen=True, kw_only=True)
class MetricDefinition:
    """A SageMaker metric: its name and the regex applied to the job's log."""

    name: str
    regex: str


def default_metric_definitions(eval_metrics: Sequence[str]) -> list[MetricDefinition]:
    """``train:<m>`` and ``validation:<m>`` for XGBoost's ``[i]\\ttrain-m:v\\tvalidation-m:v``.

    Same names as the built-in algorithm's metrics, so the gate reads the same key in both
    modes (sagestack.contract.metrics, which the training script reports against too).
    """
    return [
        MetricDefinition(name=d["Name"], regex=d["Regex"])
        for d in metrics.metric_definitions(list(eval_metrics))
    ]


@dataclass(frozen=True, kw_only=True)
class HyperparameterRange:
    """One tuned hyperparameter."""

    name: str
    min_value: float
    max_value: float
    integer: bool = False
    """True for integer ranges (num_round, max_depth); default: a continuous range."""
    scaling: str = "Auto"
    """Auto | Linear | Logarithmic | ReverseLogarithmic; default Auto."""


@dataclass(frozen=True, kw_only=True)
class TuningProps:
    """Run a hyperparameter tuning job instead of a single training job."""

    ranges: Sequence[HyperparameterRange]
    max_training_jobs: int = 10
    """Total training jobs the tuner may start; default 10."""
    max_parallel_training_jobs: int = 2
    """Training jobs running at once; default 2."""
    strategy: str = "Bayesian"
    """Bayesian | Random | Hyperband | Grid; default Bayesian."""
    job_name_prefix: str = "sagestack-tune"
    """Tuning job names are ``<prefix>-<8 hex>`` (32 characters at most); default sagestack-tune."""


@dataclass(frozen=True, kw_only=True)
class TrainingSettings:
    """What an environment's ``training`` section in cdk.json sets, under the same names.

    This class is the one home of these settings' defaults and checks: stacks/config.py builds it
    from cdk.json (a key left out takes the default below, a failed check names the key), and
    TrainingJobProps extends it, so the construct used on its own behaves the same.
    """

    quality_gate_threshold: float
    """A model registers only if its final validation metric reaches this value."""
    instance_type: str = "ml.m5.xlarge"
    """Default training instance type; execution input may override it."""
    instance_count: int = 1
    """Default instance count (above 1 runs distributed XGBoost); input may override it."""
    mode: TrainingMode = TrainingMode.SCRIPT
    """SCRIPT runs ``entry_point`` from ``source_dir``; ALGORITHM runs the built-in XGBoost."""
    hyperparameters: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(
            {"objective": "binary:logistic", "num_round": "100"}
        )
    )
    """Default hyperparameters (strings, as the API requires); execution input merges over them.
    Default ``objective=binary:logistic, num_round=100``, enough for either mode to run."""
    eval_metric: str = "auc"
    """XGBoost eval metric gated on (``validation:<eval_metric>``); default auc."""
    approval_status: ApprovalStatus = ApprovalStatus.PENDING_MANUAL_APPROVAL
    """Status of registered model packages; default PendingManualApproval."""
    use_spot_instances: bool = True
    """Managed spot training with checkpoints; default True."""
    max_runtime_s: int = 3600
    """MaxRuntimeInSeconds; default one hour."""
    max_wait_s: int | None = None
    """MaxWaitTimeInSeconds (spot only, at least ``max_runtime_s``); default twice
    ``max_runtime_s``, at most 28 days. Always an int after construction."""
    schedule: str | None = None
    """An EventBridge ``rate(...)``/``cron(...)`` to retrain on; default: none."""
    trigger_on_new_data: bool = False
    """Start a run for new objects under ``train_prefix`` (the data bucket must send events to
    EventBridge); default False."""

    def __post_init__(self) -> None:
        wait_s = self.max_wait_s
        if wait_s is None:
            wait_s = default_max_wait_s(self.max_runtime_s)
            object.__setattr__(self, "max_wait_s", wait_s)  # frozen: resolved once, here
        check = prop_checks.check
        check(
            math.isfinite(self.quality_gate_threshold),
            "quality_gate_threshold",
            self.quality_gate_threshold,
            "a finite number",
        )
        check(
            bool(_METRIC_NAME_RE.match(self.eval_metric)),
            "eval_metric",
            self.eval_metric,
            "an XGBoost eval metric name such as 'auc' or 'rmse'",
        )
        for key, value in self.hyperparameters.items():
            check(
                isinstance(value, str),
                f"hyperparameters[{key!r}]",
                value,
                "a string (CreateTrainingJob takes string values only)",
            )
            check(
                not key.startswith("sagemaker_"),
                "hyperparameters",
                key,
                "free of sagemaker_* keys (the construct sets them)",
            )
        check(
            patterns.is_ml_instance_type(self.instance_type),
            "instance_type",
            self.instance_type,
            "an ml.* instance type such as 'ml.m5.xlarge'",
        )
        check(
            1 <= self.instance_count <= 100,
            "instance_count",
            self.instance_count,
            "between 1 and 100",
        )
        check(
            1 <= self.max_runtime_s <= MAX_RUNTIME_S,
            "max_runtime_s",
            self.max_runtime_s,
            f"between 1 and {MAX_RUNTIME_S} seconds",
        )
        if self.use_spot_instances:
            check(
                self.max_runtime_s <= wait_s <= MAX_RUNTIME_S,
                "max_wait_s",
                self.max_wait_s,
                f"between max_runtime_s ({self.max_runtime_s}) and {MAX_RUNTIME_S}",
            )
        check(
            self.schedule is None or self.schedule.startswith(("rate(", "cron(")),
            "schedule",
            self.schedule,
            "null or an EventBridge expression such as 'rate(7 days)'",
        )


@dataclass(frozen=True, kw_only=True)
class TrainingJobProps(TrainingSettings):
    """Everything the training state machine does not take from its execution input."""

    data_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    encryption_key: kms.IKey
    training_role: iam.IRole
    subnets: Sequence[ec2.ISubnet]
    security_groups: Sequence[ec2.ISecurityGroup]
    model_package_group_name: str
    create_model_package_group: bool = True
    """False when a stateful stack owns the group (the app's Data stack): the registry must
    outlive this stateless construct, and a retained group with a fixed name here would collide
    with the next deployment of it."""
    source_dir: Path | None = None
    """The script-mode code (training/); required in SCRIPT mode, unused in ALGORITHM mode."""
    entry_point: str = "train.py"
    """Script-mode entry point inside ``source_dir``; default train.py."""
    serving_code_dir: Path | None = None
    """Script mode: inference code shipped next to the entry point, as ``inference/``. train.py
    copies it into the model's ``code/``, so the registered model.tar.gz serves on a
    network-isolated endpoint (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)."""
    metric_definitions: Sequence[MetricDefinition] | None = None
    """Script-mode metric regexes; default ``default_metric_definitions([eval_metric])``."""
    quality_gate_direction: MetricDirection = MetricDirection.MAXIMIZE
    """MAXIMIZE: the metric must be >= the threshold; MINIMIZE: <= it. Default MAXIMIZE."""
    volume_size_gib: int = 30
    """ML storage volume per instance (KMS-encrypted); default 30 GiB."""
    train_prefix: str = "train/"
    """Default train channel prefix in the data bucket."""
    validation_prefix: str = "validation/"
    """Default validation channel prefix in the data bucket."""
    train_distribution: S3Distribution = S3Distribution.FULLY_REPLICATED
    """Train channel distribution; SHARDED_BY_S3KEY splits files across instances."""
    validation_distribution: S3Distribution = S3Distribution.FULLY_REPLICATED
    """Validation channel distribution; default FullyReplicated."""
    content_type: str = "text/csv"
    """ContentType of both data channels; default text/csv (label first, no header)."""
    network_isolation: bool = True
    """EnableNetworkIsolation; default True. Script-mode code always comes as a ``code`` channel."""
    output_prefix: str = "models/"
    """Model artifacts go to ``s3://<artifacts>/<output_prefix><job>/output/model.tar.gz``."""
    checkpoint_prefix: str = "checkpoints/"
    """Checkpoints go to ``s3://<artifacts>/<checkpoint_prefix><job>/``."""
    job_name_prefix: str = "sagestack-train"
    """Training job names are ``<prefix>-<32 hex>``; at most 30 characters."""
    state_machine_name: str | None = None
    """Physical name of the state machine; default: generated by CloudFormation."""
    environment_tag: str | None = None
    """``sagestack:environment`` tag on the jobs it starts, so the workbench roles may stop them
    (their changes are scoped by that tag); default: no such tag."""
    inference_instance_types: Sequence[str] = ("ml.m5.large",)
    """Real-time instance types recorded in the model package."""
    transform_instance_types: Sequence[str] = ("ml.m5.large",)
    """Batch transform instance types recorded in the model package."""
    new_data_key_suffix: str = ""
    """With the trigger, only keys ending with this start a run (e.g. ``_SUCCESS``, a marker the
    container skips as data); default: every new object."""
    tuning: TuningProps | None = None
    """Run a hyperparameter tuning job instead of one training job; default: no tuning."""
    container_log_level: int = 20
    """sagemaker_container_log_level (script mode); default 20 (INFO)."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    """Retention of the state machine's execution log; default one year."""
    grant_role_access: bool = True
    """Grant the training role the data/artifacts/key access this job needs (False when the
    role already has it). Read access to the code asset is granted either way."""
    notification_key: kms.IKey | None = None
    """Key of the failure topic; default ``encryption_key``, whose policy must then let
    events.amazonaws.com use it (added automatically when the key is not imported)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        check = prop_checks.check
        check(
            self.mode is not TrainingMode.SCRIPT or self.source_dir is not None,
            "source_dir",
            self.source_dir,
            "a directory when mode is SCRIPT",
        )
        if self.source_dir is not None:
            prop_checks.check_directory("source_dir", self.source_dir)
            if self.mode is TrainingMode.SCRIPT:
                check(
                    (Path(self.source_dir) / self.entry_point).is_file(),
                    "entry_point",
                    self.entry_point,
                    f"a file inside {self.source_dir}",
                )
        if self.serving_code_dir is not None:
            prop_checks.check_directory("serving_code_dir", self.serving_code_dir)
        prop_checks.check_vpc_placement(self.subnets, self.security_groups)
        prop_checks.check_name_prefix("model_package_group_name", self.model_package_group_name, 63)
        prop_checks.check_name_prefix("job_name_prefix", self.job_name_prefix, 30)
        for name in ("train_prefix", "validation_prefix", "output_prefix", "checkpoint_prefix"):
            prop_checks.check_s3_prefix(name, getattr(self, name))
        check(
            self.metric_definitions is None or 0 < len(self.metric_definitions) <= 40,
            "metric_definitions",
            self.metric_definitions,
            "1 to 40 definitions",
        )
        check(
            self.gate_metric_name in {m.name for m in self.resolved_metric_definitions}
            or self.mode is TrainingMode.ALGORITHM,
            "metric_definitions",
            [m.name for m in self.resolved_metric_definitions],
            f"a list that defines the gated metric {self.gate_metric_name!r}",
        )
        check(
            self.container_log_level in (10, 20, 30, 40, 50),
            "container_log_level",
            self.container_log_level,
            "a logging level (10, 20, 30, 40 or 50)",
        )
        check(
            not self.new_data_key_suffix or self.trigger_on_new_data,
            "new_data_key_suffix",
            self.new_data_key_suffix,
            "empty unless trigger_on_new_data is True",
        )
        if self.tuning is not None:
            tuning = self.tuning
            prop_checks.check_name_prefix("tuning.job_name_prefix", tuning.job_name_prefix, 23)
            check(len(tuning.ranges) > 0, "tuning.ranges", tuning.ranges, "at least one range")
            check(
                1 <= tuning.max_parallel_training_jobs <= tuning.max_training_jobs,
                "tuning.max_parallel_training_jobs",
                tuning.max_parallel_training_jobs,
                f"between 1 and max_training_jobs ({tuning.max_training_jobs})",
            )
            check(
                tuning.strategy in ("Bayesian", "Random", "Hyperband", "Grid"),
                "tuning.strategy",
                tuning.strategy,
                "Bayesian, Random, Hyperband or Grid",
            )
            for item in tuning.ranges:
                check(
                    item.min_value < item.max_value,
                    f"tuning.ranges[{item.name!r}]",
                    (item.min_value, item.max_value),
                    "a range with min_value < max_value",
                )
                check(
                    item.name not in self.hyperparameters,
                    f"tuning.ranges[{item.name!r}]",
                    item.name,
                    "absent from the static hyperparameters",
                )
                check(
                    item.scaling in ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic"),
                    f"tuning.ranges[{item.name!r}].scaling",
                    item.scaling,
                    "Auto, Linear, Logarithmic or ReverseLogarithmic",
                )

    @property
    def gate_metric_name(self) -> str:
        return f"validation:{self.eval_metric}"

    @property
    def resolved_metric_definitions(self) -> list[MetricDefinition]:
        if self.metric_definitions is not None:
            return list(self.metric_definitions)
        return default_metric_definitions([self.eval_metric])
