"""The local SageMaker training runtime: job dirs, launch paths, artifacts."""

from sagestack.local.channels import Channel, ChannelError
from sagestack.local.training import (
    TrainingJobError,
    TrainingJobResult,
    make_job_name,
    run_training_job,
)

__all__ = [
    "Channel",
    "ChannelError",
    "TrainingJobError",
    "TrainingJobResult",
    "make_job_name",
    "run_training_job",
]
