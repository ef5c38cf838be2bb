"""Training jobs the SDK creates (CreateTrainingJob) for any Model other than the bundled one."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagestack.contract import metrics, prefixes
from sagestack.contract.hyperparameters import encode
from sagestack.contract.launch import CODE_CHANNEL, training_entrypoint
from sagestack.contract.paths import CHECKPOINT_DIR
from sagestack.local.archive import create_tar_gz
from sagestack.sdk import watch
from sagestack.sdk.backends.aws.session import (
    console,
    image_uri,
    resource_tags,
)
from sagestack.sdk.errors import TrainingFailedError
from sagestack.sdk.instances import TrainingInstance
from sagestack.sdk.naming import unique_name
from sagestack.sdk.platform import Platform
from sagestack.sdk.runs import COMPLETED, IN_PROGRESS, TERMINAL, TrainingRun
from sagestack.sdk.sources import MODEL_CONTENT_TYPE, S3DataSource
from sagestack.sdk.uploads import upload_file

if TYPE_CHECKING:
    from sagestack.sdk.model import Model

SOURCE_ARCHIVE = "sourcedir.tar.gz"
_JOB_STATUS = {"InProgress": IN_PROGRESS, "Stopping": IN_PROGRESS}


class JobRun(TrainingRun):
    """A training job created by the SDK (CreateTrainingJob)."""

    def __init__(self, platform: Platform, name: str) -> None:
        self.platform = platform
        self.name = name
        self.metrics: dict[str, float] = {}

    def describe(self) -> dict[str, Any]:
        with self.platform.errors():
            result: dict[str, Any] = self.platform.client("sagemaker").describe_training_job(
                TrainingJobName=self.name
            )
        self.metrics = {
            m["MetricName"]: float(m["Value"]) for m in result.get("FinalMetricDataList", [])
        }
        return result

    def status(self) -> str:
        raw = self.describe()["TrainingJobStatus"]
        return _JOB_STATUS.get(raw, raw)

    def wait(self) -> S3DataSource:
        description = follow_training_job(self.platform, self.name)
        self.metrics = {
            m["MetricName"]: float(m["Value"]) for m in description.get("FinalMetricDataList", [])
        }
        return job_artifacts(description)


def job_artifacts(description: Mapping[str, Any]) -> S3DataSource:
    status = description["TrainingJobStatus"]
    if status != COMPLETED:
        raise TrainingFailedError(
            f"Training job {description['TrainingJobName']} {status.lower()}: "
            f"{description.get('FailureReason', 'no reason given')}"
        )
    return S3DataSource(description["ModelArtifacts"]["S3ModelArtifacts"], MODEL_CONTENT_TYPE)


def follow_training_job(platform: Platform, name: str) -> dict[str, Any]:
    """Poll the job, print its log and status changes until it ends; its last description."""
    sagemaker = platform.client("sagemaker")
    log = watch.JobLog(platform.client("logs"), name, console)
    started = time.monotonic()
    last = ""
    with console.status(f"Training job {name}") as status, platform.errors():
        while True:
            description: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName=name)
            state = f"{description['TrainingJobStatus']} - {description.get('SecondaryStatus')}"
            if state != last:
                console.print(f"[bold]{name}[/bold]: {state}")
                last = state
            status.update(f"Training job {name}: {state} ({watch.elapsed(started)})")
            log.poll()
            if description["TrainingJobStatus"] in TERMINAL:
                log.poll()
                return description
            watch.sleep(watch.POLL_INTERVAL_S)


def start_training_job(
    platform: Platform,
    model: Model,
    instance: TrainingInstance,
    inputs: Mapping[str, S3DataSource],
    hyperparameters: Mapping[str, Any],
) -> JobRun:
    code = model.training_code()
    tarball = create_tar_gz(code.source_dir, code.source_dir.with_suffix(".tar.gz"))
    staged = tarball.with_name(SOURCE_ARCHIVE)
    shutil.copyfile(tarball, staged)
    code_uri = upload_file(
        platform, staged, bucket=platform.artifacts_bucket, prefix=prefixes.SDK_CODE.rstrip("/")
    )
    name = unique_name(type(model).__name__)
    artifacts = platform.artifacts_bucket
    key = platform.kms_key_arn
    values = encode(hyperparameters) | code.hyperparameters
    channels = [
        {
            "ChannelName": channel,
            "ContentType": source.content_type,
            "InputMode": "File",
            "CompressionType": "None",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": source.uri,
                    "S3DataDistributionType": source.distribution,
                }
            },
        }
        for channel, source in inputs.items()
    ]
    # The job is network-isolated, so the code arrives as a channel rather than a download.
    channels.append(
        {
            "ChannelName": CODE_CHANNEL,
            "InputMode": "File",
            "CompressionType": "None",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": code_uri,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        }
    )
    algorithm: dict[str, Any] = {
        "TrainingImage": image_uri(platform, model, "training"),
        "TrainingInputMode": "File",
        # Started without the image's toolkit: nothing pip-installed (no index in the VPC), and
        # the script's own failure file becomes FailureReason (sagestack.contract.launch).
        "ContainerEntrypoint": training_entrypoint(SOURCE_ARCHIVE, code.entry_point),
    }
    metric_names = getattr(model, "metric_names", ())
    if metric_names:
        algorithm["MetricDefinitions"] = metrics.metric_definitions(list(metric_names))
    stopping = {"MaxRuntimeInSeconds": instance.max_runtime_s}
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm,
        "RoleArn": platform.training_role_arn,
        "HyperParameters": values,
        "InputDataConfig": channels,
        "OutputDataConfig": {
            "S3OutputPath": f"s3://{artifacts}/{prefixes.TRAINING_MODELS.rstrip('/')}",
            "KmsKeyId": key,
        },
        "ResourceConfig": {
            "InstanceType": instance.instance_type,
            "InstanceCount": instance.count,
            "VolumeSizeInGB": instance.volume_size_gib,
            "VolumeKmsKeyId": key,
        },
        "StoppingCondition": stopping,
        "VpcConfig": {
            "SecurityGroupIds": platform.security_group_ids,
            "Subnets": platform.subnet_ids,
        },
        "EnableNetworkIsolation": True,
        "EnableInterContainerTrafficEncryption": True,
        "EnableManagedSpotTraining": instance.spot,
        "Tags": resource_tags(platform, model),
    }
    if instance.spot:
        stopping["MaxWaitTimeInSeconds"] = instance.resolved_max_wait_s
        request["CheckpointConfig"] = {
            "S3Uri": f"s3://{artifacts}/{prefixes.TRAINING_CHECKPOINTS}{name}/",
            "LocalPath": CHECKPOINT_DIR,
        }
    platform.client("sagemaker").create_training_job(**request)
    console.print(
        f"Started training job [bold]{name}[/bold] ({instance.instance_type} x{instance.count})"
    )
    return JobRun(platform, name)
