"""The local SageMaker training runtime: job dirs, launch paths, artifacts."""

from sagestack.local.channels import Channel, ChannelError
from sagestack.local.job_spec import TrainingJobSpec, make_job_name
from sagestack.local.training import TrainingJobError, TrainingJobResult, run_training_job

__all__ = [
    "Channel",
    "ChannelError",
    "TrainingJobError",
    "TrainingJobResult",
    "TrainingJobSpec",
    "make_job_name",
    "run_training_job",
]
