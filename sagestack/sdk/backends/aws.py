"""The AWS backend: training and endpoints on the deployed stacks, found through SSM.

The bundled XGBoost model trains through the Training stack's state machine (the deployed
training job definition, with its quality gate and model registry); its execution input can
override the data, hyperparameters and instance type/count. Any other Model runs as a
CreateTrainingJob with the same platform settings (training role, KMS key, isolated subnets,
network isolation, artifacts under training/), because its code and image are its own.
Endpoints are created the way the Serving stack declares them: model role, KMS, VPC and
network isolation for instance variants, the inference code inside model.tar.gz under code/.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from sagestack.contract.launch import (
    CODE_CHANNEL,
    TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
    training_entrypoint,
)
from sagestack.local.archive import create_tar_gz, extract_tar_gz
from sagestack.sdk import watch
from sagestack.sdk.errors import (
    ConfigurationError,
    DeploymentFailedError,
    TrainingFailedError,
)
from sagestack.sdk.images import image_region, xgboost_image_uri
from sagestack.sdk.instances import PredictorInstance, TrainingInstance
from sagestack.sdk.naming import unique_name
from sagestack.sdk.packaging import ServingCode
from sagestack.sdk.platform import Platform, connect
from sagestack.sdk.predictor import Predictor
from sagestack.sdk.runs import COMPLETED, FAILED, IN_PROGRESS, STOPPED, TERMINAL, TrainingRun
from sagestack.sdk.sources import MODEL_CONTENT_TYPE, S3DataSource
from sagestack.sdk.uploads import upload_file, upload_path

if TYPE_CHECKING:
    from sagestack.sdk.model import Model

# Key prefixes in the artifacts bucket: the training role writes training/ only
# (stacks/constructs/job_roles.py TRAINING_OUTPUT_PREFIX); the Training stack uses the same.
OUTPUT_PATH = "training/models"
CHECKPOINT_PREFIX = "training/checkpoints"
CODE_PREFIX = "training/sdk/code"
MODEL_PREFIX = "training/sdk/models"
UPLOAD_PREFIX = "uploads"
MODEL_CODE_DIR = "/opt/ml/model/code"
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
SOURCE_ARCHIVE = "sourcedir.tar.gz"
VARIANT_NAME = "AllTraffic"
CONTAINER_LOG_LEVEL = "20"
STATE_MACHINE_CHANNELS = ("train", "validation")
_JOB_STATUS = {"InProgress": IN_PROGRESS, "Stopping": IN_PROGRESS}
_EXECUTION_STATUS = {
    "RUNNING": IN_PROGRESS,
    "SUCCEEDED": COMPLETED,
    "FAILED": FAILED,
    "TIMED_OUT": FAILED,
    "ABORTED": STOPPED,
}

console = Console()


def _connect(model: Model) -> Platform:
    return connect(
        getattr(model, "environment", None),
        getattr(model, "region", None),
        getattr(model, "boto_session", None),
    )


def hyperparameter_string(value: Any) -> str:
    """CreateTrainingJob takes strings: text as is, everything else as JSON (true, 0.1)."""
    return value if isinstance(value, str) else json.dumps(value)


def _tags(platform: Platform, model: Model) -> list[dict[str, str]]:
    cls = type(model)
    return [
        {"Key": "sagestack:environment", "Value": platform.environment},
        {"Key": "sagestack:model", "Value": f"{cls.__module__}.{cls.__qualname__}"[:256]},
    ]


def _bucket_region(platform: Platform, bucket: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        location = platform.client("s3").get_bucket_location(Bucket=bucket)
    except ClientError:
        return None
    constraint = location.get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def _check_bucket(platform: Platform, source: S3DataSource, role: str, what: str) -> None:
    """The job roles read the environment's own buckets only; say so before SageMaker does."""
    own = (platform.data_bucket, platform.artifacts_bucket)
    if source.bucket in own:
        return
    platform.check_region(
        f"Bucket {source.bucket} ({what})", _bucket_region(platform, source.bucket)
    )
    raise ConfigurationError(
        f"{what} {source.uri} is outside environment {platform.environment!r}: its {role} "
        f"role reads s3://{own[0]} and s3://{own[1]} only. Copy the data there, or upload a "
        "local copy with `sagestack upload`."
    )


def s3_channel(platform: Platform, name: str, source: S3DataSource) -> S3DataSource:
    """The channel as S3 data the job may read: local data is uploaded to the data bucket."""
    if source.is_local:
        if not source.path.exists():
            raise ConfigurationError(f"channel {name!r}: {source.path} does not exist")
        uri = upload_path(
            platform, source.path, bucket=platform.data_bucket, prefix=f"{UPLOAD_PREFIX}/{name}"
        )
        return S3DataSource(uri, source.content_type, source.distribution)
    _check_bucket(platform, source, "training", f"channel {name!r}")
    return source


def _image(platform: Platform, model: Model, scope: str) -> str:
    image = getattr(model, "image_uri", None) or xgboost_image_uri(platform.region, scope)
    platform.check_region(f"Image {image}", image_region(image))
    return image


# ------------------------------------------------------------------------------- training


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


def _start_training_job(
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
    code_uri = upload_file(platform, staged, bucket=platform.artifacts_bucket, prefix=CODE_PREFIX)
    name = unique_name(type(model).__name__)
    artifacts = platform.artifacts_bucket
    key = platform.kms_key_arn
    values = {k: hyperparameter_string(v) for k, v in hyperparameters.items()}
    values |= code.hyperparameters
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
        "TrainingImage": _image(platform, model, "training"),
        "TrainingInputMode": "File",
        # Started without the image's toolkit: nothing pip-installed (no index in the VPC), and
        # the script's own failure file becomes FailureReason (sagestack.contract.launch).
        "ContainerEntrypoint": training_entrypoint(SOURCE_ARCHIVE, code.entry_point),
    }
    metric_names = getattr(model, "metric_names", ())
    if metric_names:
        algorithm["MetricDefinitions"] = [
            {"Name": f"{channel}:{metric}", "Regex": rf"{channel}-{metric}:([-+0-9.eEnaif]+)"}
            for metric in metric_names
            for channel in ("train", "validation")
        ]
    stopping = {"MaxRuntimeInSeconds": instance.max_runtime_s}
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "AlgorithmSpecification": algorithm,
        "RoleArn": platform.training_role_arn,
        "HyperParameters": values,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{artifacts}/{OUTPUT_PATH}", "KmsKeyId": key},
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
        "Tags": _tags(platform, model),
    }
    if instance.spot:
        stopping["MaxWaitTimeInSeconds"] = instance.resolved_max_wait_s
        request["CheckpointConfig"] = {
            "S3Uri": f"s3://{artifacts}/{CHECKPOINT_PREFIX}/{name}/",
            "LocalPath": CHECKPOINT_LOCAL_PATH,
        }
    platform.client("sagemaker").create_training_job(**request)
    console.print(
        f"Started training job [bold]{name}[/bold] ({instance.instance_type} x{instance.count})"
    )
    return JobRun(platform, name)


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


def _start_execution(
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
        if source.content_type != "text/csv" or source.distribution != "FullyReplicated":
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
    execution_input = {
        "train_s3_uri": inputs["train"].uri,
        "validation_s3_uri": inputs["validation"].uri,
        "hyperparameters": {k: hyperparameter_string(v) for k, v in hyperparameters.items()},
        "instance_type": instance.instance_type,
        "instance_count": instance.count,
    }
    name = unique_name(type(model).__name__)
    response = platform.client("stepfunctions").start_execution(
        stateMachineArn=platform.training_state_machine_arn,
        name=name,
        input=json.dumps(execution_input, sort_keys=True),
    )
    console.print(
        f"Started training execution [bold]{name}[/bold] of the {platform.environment!r} "
        "Training stack"
    )
    return ExecutionRun(platform, name, response["executionArn"])


def fit_aws(
    model: Model,
    instance: TrainingInstance,
    inputs: Mapping[str, S3DataSource],
    hyperparameters: dict[str, Any],
    *,
    background: bool = False,
) -> TrainingRun:
    """Start the job (always asynchronously on AWS; Model.fit waits unless wait=False)."""
    platform = _connect(model)
    with platform.errors():
        channels = {name: s3_channel(platform, name, source) for name, source in inputs.items()}
        if getattr(model, "bundled", False):
            return _start_execution(platform, model, instance, channels, hyperparameters)
        return _start_training_job(platform, model, instance, channels, hyperparameters)


# ------------------------------------------------------------------------------- serving


def _archive_has(archive: Path, member: str) -> bool:
    with tarfile.open(archive, "r:*") as tar:
        return any(m.name.lstrip("./") == member for m in tar.getmembers())


def serving_archive(platform: Platform, model: Model, artifacts: S3DataSource) -> str:
    """An s3:// model.tar.gz whose code/ holds the serving handlers (network isolation means
    the container cannot download them). Archives from the generic entry point already do;
    others are repacked once, under a content-addressed key."""
    serving: ServingCode = model.serving_code()
    if not artifacts.is_local:
        _check_bucket(platform, artifacts, "model", "model artifacts")
        if serving.code_dir is None:
            return artifacts.uri
    with tempfile.TemporaryDirectory(prefix="sagestack-repack-") as tmp:
        work = Path(tmp)
        archive = artifacts.path if artifacts.is_local else work / "model.tar.gz"
        if not artifacts.is_local:
            platform.client("s3").download_file(artifacts.bucket, artifacts.key, str(archive))
        if not archive.is_file():
            raise ConfigurationError(f"model artifacts {archive} do not exist")
        if serving.code_dir is not None and not _archive_has(archive, f"code/{serving.program}"):
            extracted = extract_tar_gz(archive, work / "model")
            # No caches or dotfiles (a mypy cache once rode along into code/).
            shutil.copytree(
                serving.code_dir,
                extracted / "code",
                ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"),
                dirs_exist_ok=True,
            )
            archive = create_tar_gz(extracted, work / "repacked" / "model.tar.gz")
        return upload_file(platform, archive, bucket=platform.artifacts_bucket, prefix=MODEL_PREFIX)


class AwsPredictor(Predictor):
    """A SageMaker endpoint created by deploy(); delete() removes endpoint, config and model."""

    def __init__(self, model: Model, platform: Platform, name: str, model_data_url: str) -> None:
        super().__init__(model, name)
        self.platform = platform
        self.model_name = name
        self.endpoint_config_name = name
        self.model_data_url = model_data_url

    def _invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, str | None, bytes]:
        from sagestack.serving.client import invoke_runtime

        with self.platform.errors():
            result = invoke_runtime(
                self.platform.client("sagemaker-runtime"),
                self.endpoint_name,
                body,
                content_type=content_type,
                accept=accept,
            )
        return result.status, result.content_type, result.body

    def delete(self) -> None:
        _delete_resources(
            self.platform, self.endpoint_name, self.endpoint_config_name, self.model_name
        )
        console.print(f"Deleted endpoint {self.endpoint_name}, its config and model")


def _delete_resources(platform: Platform, endpoint: str, config: str, model: str) -> None:
    from botocore.exceptions import ClientError

    sagemaker = platform.client("sagemaker")
    with platform.errors():
        for call, key, name in (
            (sagemaker.delete_endpoint, "EndpointName", endpoint),
            (sagemaker.delete_endpoint_config, "EndpointConfigName", config),
            (sagemaker.delete_model, "ModelName", model),
        ):
            try:
                call(**{key: name})
            except ClientError as exc:  # already gone (a second delete(), or never created)
                if exc.response.get("Error", {}).get("Code") != "ValidationException":
                    raise


def _variant(name: str, instance: PredictorInstance) -> dict[str, Any]:
    variant: dict[str, Any] = {
        "VariantName": VARIANT_NAME,
        "ModelName": name,
        "InitialVariantWeight": 1.0,
    }
    if instance.is_serverless:
        variant["ServerlessConfig"] = {
            "MemorySizeInMB": instance.memory_mib,
            "MaxConcurrency": instance.max_concurrency,
        }
    else:
        variant["InstanceType"] = instance.instance_type
        variant["InitialInstanceCount"] = instance.count
    return variant


def _wait_in_service(platform: Platform, name: str) -> None:
    sagemaker = platform.client("sagemaker")
    started = time.monotonic()
    with console.status(f"Endpoint {name}: Creating") as status:
        while True:
            description = sagemaker.describe_endpoint(EndpointName=name)
            state = description["EndpointStatus"]
            status.update(f"Endpoint {name}: {state} ({watch.elapsed(started)})")
            if state == "InService":
                console.print(
                    f"Endpoint [bold]{name}[/bold] is InService ({watch.elapsed(started)})"
                )
                return
            if state not in ("Creating", "Updating", "SystemUpdating"):
                raise DeploymentFailedError(
                    f"Endpoint {name} is {state}: {description.get('FailureReason', 'no reason')}"
                )
            watch.sleep(watch.POLL_INTERVAL_S)


def deploy_aws(model: Model, instance: PredictorInstance, artifacts: S3DataSource) -> AwsPredictor:
    platform = _connect(model)
    with platform.errors():
        model_data_url = serving_archive(platform, model, artifacts)
        serving = model.serving_code()
        image = _image(platform, model, "inference")
        name = unique_name(type(model).__name__)
        environment = {
            "SAGEMAKER_PROGRAM": serving.program,
            "SAGEMAKER_SUBMIT_DIRECTORY": MODEL_CODE_DIR,
            "SAGEMAKER_REGION": platform.region,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": CONTAINER_LOG_LEVEL,
            **TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
            **serving.environment,
        }
        sagemaker = platform.client("sagemaker")
        tags = _tags(platform, model)
        create_model: dict[str, Any] = {
            "ModelName": name,
            "ExecutionRoleArn": platform.model_role_arn,
            "PrimaryContainer": {
                "Image": image,
                "ModelDataUrl": model_data_url,
                "Environment": environment,
            },
            "Tags": tags,
        }
        config: dict[str, Any] = {
            "EndpointConfigName": name,
            "ProductionVariants": [_variant(name, instance)],
            "Tags": tags,
        }
        # Serverless variants take neither a VPC, network isolation nor a volume key.
        if not instance.is_serverless:
            create_model["VpcConfig"] = {
                "SecurityGroupIds": platform.security_group_ids,
                "Subnets": platform.subnet_ids,
            }
            create_model["EnableNetworkIsolation"] = True
            config["KmsKeyId"] = platform.kms_key_arn
        created = False
        try:
            sagemaker.create_model(**create_model)
            sagemaker.create_endpoint_config(**config)
            sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)
            created = True
            _wait_in_service(platform, name)
        except BaseException:
            if created:
                console.print(f"Cleaning up endpoint {name} after the failure")
            _delete_resources(platform, name, name, name)
            raise
    return AwsPredictor(model, platform, name, model_data_url)
