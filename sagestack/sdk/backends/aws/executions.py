"""Runs of the Training stack's state machine (train, gate, register) for the bundled model."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagestack.contract.hyperparameters import encode
from sagestack.sdk import watch
from sagestack.sdk.backends.aws.session import console
from sagestack.sdk.backends.aws.training_jobs import job_artifacts
from sagestack.sdk.errors import ConfigurationError, TrainingFailedError
from sagestack.sdk.instances import TrainingInstance
from sagestack.sdk.naming import unique_name
from sagestack.sdk.platform import Platform
from sagestack.sdk.runs import COMPLETED, FAILED, IN_PROGRESS, STOPPED, TrainingRun
from sagestack.sdk.sources import MODEL_CONTENT_TYPE, S3DataSource

if TYPE_CHECKING:
    from sagestack.sdk.model import Model

STATE_MACHINE_CHANNELS = ("train", "validation")
_EXECUTION_STATUS = {
    "RUNNING": IN_PROGRESS,
    "SUCCEEDED": COMPLETED,
    "FAILED": FAILED,
    "TIMED_OUT": FAILED,
    "ABORTED": STOPPED,
}


class ExecutionRun(TrainingRun):
    """An execution of the Training stack's state machine (train, gate, register)."""

    def __init__(self, platform: Platform, name: str, execution_arn: str) -> None:
        self.platform = platform
        self.name = name
        self.execution_arn = execution_arn
        self.training_job_name: str | None = None
        self.model_package_arn: str | None = None
        self.metrics: dict[str, float] = {}

    def describe(self) -> dict[str, Any]:
        with self.platform.errors():
            result: dict[str, Any] = self.platform.client("stepfunctions").describe_execution(
                executionArn=self.execution_arn
            )
        return result

    def status(self) -> str:
        return _EXECUTION_STATUS.get(self.describe()["status"], IN_PROGRESS)

    def find_training_job(self) -> str | None:
        """The job the execution created: its TaskScheduled event carries the parameters."""
        if self.training_job_name:
            return self.training_job_name
        sfn = self.platform.client("stepfunctions")
        for page in sfn.get_paginator("get_execution_history").paginate(
            executionArn=self.execution_arn
        ):
            for event in page["events"]:
                details = event.get("taskScheduledEventDetails") or {}
                if "createTrainingJob" not in str(details.get("resource", "")):
                    continue
                try:
                    parameters = json.loads(details.get("parameters") or "{}")
                except ValueError:
                    continue
                if parameters.get("TrainingJobName"):
                    self.training_job_name = str(parameters["TrainingJobName"])
                    return self.training_job_name
        return None

    def wait(self) -> S3DataSource:
        sagemaker = self.platform.client("sagemaker")
        started = time.monotonic()
        log: watch.JobLog | None = None
        last = ""
        with console.status(f"Training execution {self.name}") as status, self.platform.errors():
            while True:
                execution = self.describe()
                job = self.find_training_job()
                state = execution["status"]
                if job:
                    log = log or watch.JobLog(self.platform.client("logs"), job, console)
                    described = sagemaker.describe_training_job(TrainingJobName=job)
                    state += f" - job {job}: {described['TrainingJobStatus']}"
                    state += f" - {described.get('SecondaryStatus')}"
                    log.poll()
                if state != last:
                    console.print(f"[bold]{self.name}[/bold]: {state}")
                    last = state
                status.update(f"{self.name}: {state} ({watch.elapsed(started)})")
                if execution["status"] != "RUNNING":
                    if log is not None:
                        log.poll()
                    return self._result(execution)
                watch.sleep(watch.POLL_INTERVAL_S)

    def _result(self, execution: Mapping[str, Any]) -> S3DataSource:
        sagemaker = self.platform.client("sagemaker")
        if execution["status"] != "SUCCEEDED":
            reason = f"{execution.get('error', execution['status'])}: {execution.get('cause', '')}"
            raise TrainingFailedError(
                f"Training execution {self.name} {execution['status'].lower()} ({reason.strip()})"
            )
        output = json.loads(execution.get("output") or "{}")
        self.model_package_arn = output.get("model_package_arn")
        if self.training_job_name:
            description = sagemaker.describe_training_job(TrainingJobName=self.training_job_name)
            self.metrics = {
                m["MetricName"]: float(m["Value"])
                for m in description.get("FinalMetricDataList", [])
            }
            return job_artifacts(description)
        if self.model_package_arn:
            package = sagemaker.describe_model_package(ModelPackageName=self.model_package_arn)
            url = package["InferenceSpecification"]["Containers"][0]["ModelDataUrl"]
            return S3DataSource(url, MODEL_CONTENT_TYPE)
        raise TrainingFailedError(
            f"Training execution {self.name} succeeded but names no training job or model package"
        )


def start_execution(
    platform: Platform,
    model: Model,
    instance: TrainingInstance,
    inputs: Mapping[str, S3DataSource],
    hyperparameters: Mapping[str, Any],
) -> ExecutionRun:
    missing = [c for c in STATE_MACHINE_CHANNELS if c not in inputs]
    extra = sorted(set(inputs) - set(STATE_MACHINE_CHANNELS))
    if missing or extra:
        raise ConfigurationError(
            f"the Training stack's definition takes exactly the channels train and validation "
            f"(it gates on a validation metric); missing {missing or 'none'}, "
            f"unexpected {extra or 'none'}"
        )
    for name, source in inputs.items():
        csv = source.content_type in ("text/csv", "csv")
        if not csv or source.distribution != "FullyReplicated":
            warnings.warn(
                f"channel {name!r}: the Training stack fixes ContentType text/csv and its own "
                f"distribution; {source.content_type}/{source.distribution} is not applied",
                stacklevel=4,
            )
    defaults = TrainingInstance(instance.instance_type, instance.count)
    if (instance.volume_size_gib, instance.max_runtime_s, instance.spot) != (
        defaults.volume_size_gib,
        defaults.max_runtime_s,
        defaults.spot,
    ):
        warnings.warn(
            "the Training stack fixes volume size, max runtime and spot for the bundled model; "
            "only instance_type and count are taken from the TrainingInstance",
            stacklevel=4,
        )
    name = unique_name(type(model).__name__)
    run = launch_execution(platform, name, inputs, hyperparameters, instance)
    console.print(
        f"Started training execution [bold]{name}[/bold] of the {platform.environment!r} "
        "Training stack"
    )
    return run


def launch_execution(
    platform: Platform,
    name: str,
    inputs: Mapping[str, S3DataSource],
    hyperparameters: Mapping[str, Any],
    instance: TrainingInstance,
) -> ExecutionRun:
    """StartExecution of the Training stack's state machine with the input its definition reads
    (train/validation S3 URIs, encoded hyperparameters, instance type and count): the one way
    fit() on ``ml.*`` and the console's Create start a deployed training run."""
    execution_input = {
        "train_s3_uri": inputs["train"].uri,
        "validation_s3_uri": inputs["validation"].uri,
        "hyperparameters": encode(hyperparameters),
        "instance_type": instance.instance_type,
        "instance_count": instance.count,
    }
    response = platform.client("stepfunctions").start_execution(
        stateMachineArn=platform.training_state_machine_arn,
        name=name,
        input=json.dumps(execution_input, sort_keys=True),
    )
    return ExecutionRun(platform, name, response["executionArn"])
