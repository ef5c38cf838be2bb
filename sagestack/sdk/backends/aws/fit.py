"""fit() on AWS: the Training stack's state machine for the bundled model, else a training job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagestack.sdk.backends.aws.executions import start_execution
from sagestack.sdk.backends.aws.session import connect_model, s3_channel
from sagestack.sdk.backends.aws.training_jobs import start_training_job
from sagestack.sdk.instances import TrainingInstance
from sagestack.sdk.runs import TrainingRun
from sagestack.sdk.sources import S3DataSource

if TYPE_CHECKING:
    from sagestack.sdk.model import Model


def fit_aws(
    model: Model,
    instance: TrainingInstance,
    inputs: Mapping[str, S3DataSource],
    hyperparameters: dict[str, Any],
    *,
    background: bool = False,
) -> TrainingRun:
    """Start the job (always asynchronously on AWS; Model.fit waits unless wait=False).

    The bundled XGBoost model trains through the Training stack's state machine (the deployed
    training job definition, with its quality gate and model registry); its execution input can
    override the data, hyperparameters and instance type/count. Any other Model runs as a
    CreateTrainingJob with the same platform settings (training role, KMS key, isolated subnets,
    network isolation, artifacts under training/), because its code and image are its own.
    """
    platform = connect_model(model)
    with platform.errors():
        channels = {name: s3_channel(platform, name, source) for name, source in inputs.items()}
        if getattr(model, "bundled", False):
            return start_execution(platform, model, instance, channels, hyperparameters)
        return start_training_job(platform, model, instance, channels, hyperparameters)
