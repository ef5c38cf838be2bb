"""The local backend: fit() runs the local SageMaker runtime, deploy() starts the local server."""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagestack.local.channels import Channel, S3Location
from sagestack.local.endpoints import endpoints_dir, write_record
from sagestack.local.job_spec import TrainingJobSpec, make_job_name
from sagestack.local.s3_input import S3InputError
from sagestack.local.training import (
    TrainingJobError,
    TrainingJobResult,
    TrainingJobStopped,
    run_training_job,
)
from sagestack.sdk.errors import (
    AccessDeniedError,
    ConfigurationError,
    CredentialsError,
    DataSourceError,
    DeploymentFailedError,
    SageStackError,
    TrainingFailedError,
)
from sagestack.sdk.instances import PredictorInstance, TrainingInstance
from sagestack.sdk.naming import kebab, unique_name
from sagestack.sdk.predictor import Predictor
from sagestack.sdk.runs import COMPLETED, FAILED, IN_PROGRESS, TrainingRun
from sagestack.sdk.sources import MODEL_CONTENT_TYPE, S3DataSource

if TYPE_CHECKING:
    from sagestack.sdk.model import Model
    from sagestack.serving.endpoint import LocalEndpoint


_S3_ERRORS: dict[str, type[SageStackError]] = {
    "credentials": CredentialsError,
    "access-denied": AccessDeniedError,
}


def _local_channel(name: str, source: S3DataSource) -> Channel:
    """A file:// source as it is; an s3:// one is downloaded when the job starts."""
    if source.is_local:
        if not source.path.exists():
            raise ConfigurationError(f"channel {name!r}: {source.path} does not exist")
        location: Path | S3Location = source.path
    else:
        location = S3Location(source.bucket, source.key)
    return Channel(
        source=location, content_type=source.content_type, distribution=source.distribution
    )


def s3_error(exc: S3InputError) -> SageStackError:
    """The SDK's error for an s3:// channel a local job cannot read (its one line)."""
    return _S3_ERRORS.get(exc.kind, DataSourceError)(str(exc))


class LocalTrainingRun(TrainingRun):
    """A job of the local runtime; its directory (logs, output/data) is ``result.job_dir``."""

    def __init__(self, spec: TrainingJobSpec, background: bool) -> None:
        assert spec.job_name is not None
        self.name = spec.job_name
        self.metrics: dict[str, float] = {}
        self.result: TrainingJobResult | None = None
        self._spec = spec
        self._stream_logs = not background
        self._error: TrainingJobError | None = None
        self._input_error: SageStackError | None = None
        self._done = threading.Event()
        if background:
            threading.Thread(target=self._run, name=self.name, daemon=True).start()
        else:
            self._run()

    def _run(self) -> None:
        try:
            with warnings.catch_warnings():
                # rich's live progress asks for ipywidgets in Jupyter; it prints lines without.
                warnings.filterwarnings("ignore", message='install "ipywidgets"')
                self.result = run_training_job(self._spec, stream_logs=self._stream_logs)
        except TrainingJobStopped as exc:
            self.result = exc.result
            raise
        except TrainingJobError as exc:
            self._error = exc
            self.result = exc.result
        except S3InputError as exc:
            self._input_error = s3_error(exc)
        finally:
            if self.result is not None:
                self.metrics = dict(self.result.metrics)
            self._done.set()

    def status(self) -> str:
        if not self._done.is_set():
            return IN_PROGRESS
        return self.result.status if self.result is not None else FAILED

    def wait(self) -> S3DataSource:
        self._done.wait()
        if self._input_error is not None:
            raise self._input_error
        if self._error is not None:
            raise TrainingFailedError(str(self._error)) from self._error
        if self.result is None or self.result.status != COMPLETED:
            raise TrainingFailedError(f"local training job {self.name} did not complete")
        assert self.result.model_artifacts is not None
        return S3DataSource.local(self.result.model_artifacts, MODEL_CONTENT_TYPE)


def fit_local(
    model: Model,
    instance: TrainingInstance,
    inputs: Mapping[str, S3DataSource],
    hyperparameters: dict[str, Any],
    *,
    background: bool = False,
) -> LocalTrainingRun:
    channels = {name: _local_channel(name, source) for name, source in inputs.items()}
    code = model.training_code()
    spec = TrainingJobSpec(
        inputs=channels,
        hyperparameters={**hyperparameters, **code.hyperparameters},
        source_dir=code.source_dir,
        entry_point=code.entry_point,
        launch="v3",
        instance_count=instance.count,
        instance_type="local",
        job_name=make_job_name(f"sagestack-{kebab(type(model).__name__)}"),
        max_runtime_s=instance.max_runtime_s,
    )
    return LocalTrainingRun(spec, background)


class LocalPredictor(Predictor):
    """The local server; ``url`` also works as boto3 sagemaker-runtime's ``endpoint_url``.

    As on SageMaker, the endpoint outlives this Python process: it serves until
    :meth:`delete` or ``sagestack stop NAME`` (``sagestack status --local`` lists it).
    """

    def __init__(
        self, model: Model, name: str, endpoint: LocalEndpoint, record: Path, log: Path
    ) -> None:
        super().__init__(model, name)
        self.endpoint = endpoint
        self.url = endpoint.url
        self.log_file = log
        self._record = record

    def _invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, str | None, bytes]:
        from sagestack.serving.client import invoke_http

        result = invoke_http(self.url, body, content_type=content_type, accept=accept)
        return result.status, result.content_type, result.body

    def delete(self) -> None:
        self.endpoint.stop()
        self._record.unlink(missing_ok=True)


def deploy_local(
    model: Model, instance: PredictorInstance, artifacts: S3DataSource
) -> LocalPredictor:
    if not artifacts.is_local:
        raise ConfigurationError(
            f"a local endpoint serves a local model.tar.gz, not {artifacts.uri}; download it "
            "first or deploy to an ml.* instance"
        )
    if not artifacts.path.exists():
        raise ConfigurationError(f"model artifacts {artifacts.path} do not exist")
    from sagestack.serving.endpoint import start_local_endpoint
    from sagestack.serving.supervisor import StartupError

    serving = model.serving_code()
    name = unique_name(type(model).__name__)
    directory = endpoints_dir()
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / f"{name}.log"
    with log.open("wb") as handle:
        try:
            endpoint = start_local_endpoint(
                artifacts.path,
                port=0,
                workers=instance.count,
                code_dir=serving.code_dir,
                program=serving.program,
                environment=serving.environment,
                log=handle,
            )
        except StartupError as exc:
            raise DeploymentFailedError(
                f"the local endpoint did not start: {exc} (log: {log})"
            ) from exc
    record = write_record(
        name,
        pid=endpoint.pid,
        url=endpoint.url,
        model=f"{type(model).__qualname__} {artifacts.path}",
        started_by=f"deploy() in process {os.getpid()}",
        log=str(log),
    )
    return LocalPredictor(model, name, endpoint, record, log)
