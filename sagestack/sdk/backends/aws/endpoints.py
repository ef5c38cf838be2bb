"""Endpoints deploy() creates on AWS (model, endpoint config, endpoint) and their predictor."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sagestack.contract import prefixes
from sagestack.contract.launch import TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT
from sagestack.contract.paths import MODEL_CODE_DIR
from sagestack.local.archive import create_tar_gz, extract_tar_gz
from sagestack.sdk import watch
from sagestack.sdk.backends.aws.session import (
    check_bucket,
    connect_model,
    console,
    image_uri,
    resource_tags,
)
from sagestack.sdk.errors import ConfigurationError, DeploymentFailedError
from sagestack.sdk.instances import PredictorInstance
from sagestack.sdk.naming import unique_name
from sagestack.sdk.packaging import ServingCode
from sagestack.sdk.platform import Platform
from sagestack.sdk.predictor import Predictor
from sagestack.sdk.sources import S3DataSource
from sagestack.sdk.uploads import upload_file

if TYPE_CHECKING:
    from sagestack.sdk.model import Model

VARIANT_NAME = "AllTraffic"
CONTAINER_LOG_LEVEL = "20"
SERVERLESS_REFUSED = (
    "PredictorInstance.serverless(...) cannot be deployed to a SageStack environment: SageMaker "
    "Serverless Inference runs neither in a VPC nor network-isolated, and the environment's "
    "roles create only models that do (so a model's code cannot send data out). Deploy with "
    "an instance type, e.g. PredictorInstance('ml.m5.large'), or 'local' on this machine."
)


def _archive_has(archive: Path, member: str) -> bool:
    with tarfile.open(archive, "r:*") as tar:
        return any(m.name.lstrip("./") == member for m in tar.getmembers())


def serving_archive(platform: Platform, model: Model, artifacts: S3DataSource) -> str:
    """An s3:// model.tar.gz whose code/ holds the serving handlers (network isolation means
    the container cannot download them). Archives from the generic entry point already do;
    others are repacked once, under a content-addressed key."""
    serving: ServingCode = model.serving_code()
    if not artifacts.is_local:
        check_bucket(platform, artifacts, "model", "model artifacts")
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
        prefix = prefixes.SDK_MODELS.rstrip("/")
        return upload_file(platform, archive, bucket=platform.artifacts_bucket, prefix=prefix)


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
    """Create model, endpoint config and endpoint the way the Serving stack declares them.

    Model role, KMS, VPC and network isolation for instance variants; the inference code inside
    model.tar.gz under code/. Whatever was created is deleted again if the endpoint fails.
    """
    if instance.is_serverless:
        raise ConfigurationError(SERVERLESS_REFUSED)
    platform = connect_model(model)
    with platform.errors():
        model_data_url = serving_archive(platform, model, artifacts)
        serving = model.serving_code()
        image = image_uri(platform, model, "inference")
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
        tags = resource_tags(platform, model)
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
        # What the workbench roles' CreateModel/CreateEndpointConfig conditions require.
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
