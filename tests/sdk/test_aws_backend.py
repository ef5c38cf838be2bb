"""The AWS backend against moto (in-process): the exact requests, and the errors that say why.

``deployed`` (conftest.py) creates what the Data, Network, Iam and Training stacks publish and
records every API call the SDK's boto3 session makes.
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sagestack import PredictorInstance, S3DataSource, TrainingInstance, XGBoostModel
from sagestack.sdk.errors import (
    ConfigurationError,
    CredentialsError,
    PlatformNotDeployedError,
    RegionMismatchError,
    TrainingFailedError,
)

from .conftest import REGION, Channels, Deployed
from .numpy_models import NearestCentroid

XGBOOST_TRAINING_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"
CUSTOM_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my-sklearn:1.4"
ACCOUNT = "123456789012"  # moto's


def _moto_execution(arn: str) -> Any:
    from moto.stepfunctions.models import stepfunctions_backends

    return stepfunctions_backends[ACCOUNT][REGION].describe_execution(arn)


def _tar(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _tar_names(deployed: Deployed, uri: str) -> list[str]:
    source = S3DataSource(uri)
    body = deployed.client("s3").get_object(Bucket=source.bucket, Key=source.key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return sorted(tar.getnames())


def _task_scheduled(job_name: str) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": 0,
            "type": "TaskScheduled",
            "id": 5,
            "previousEventId": 4,
            "taskScheduledEventDetails": {
                "resourceType": "sagemaker",
                "resource": "createTrainingJob.sync",
                "region": REGION,
                "parameters": json.dumps({"TrainingJobName": job_name}),
            },
        }
    ]


# ------------------------------------------------------------------ the bundled model


def test_xgboost_fit_starts_the_training_state_machine_with_the_overrides(
    deployed: Deployed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = XGBoostModel(boto_session=deployed.session)
    run = model.fit(
        TrainingInstance("ml.m5.2xlarge", count=2),
        {
            "train": S3DataSource("s3://sagestack-dev-data/train/"),
            "validation": S3DataSource("s3://sagestack-dev-data/validation/"),
        },
        {"objective": "binary:logistic", "num_round": 50, "eta": 0.1, "one_drop": True},
        wait=False,
    )
    (start,) = deployed.params("stepfunctions", "StartExecution")
    assert start["stateMachineArn"] == deployed["training-state-machine-arn"]
    assert json.loads(start["input"]) == {
        "train_s3_uri": "s3://sagestack-dev-data/train/",
        "validation_s3_uri": "s3://sagestack-dev-data/validation/",
        "hyperparameters": {
            "objective": "binary:logistic",
            "num_round": "50",
            "eta": "0.1",
            "one_drop": "true",
        },
        "instance_type": "ml.m5.2xlarge",
        "instance_count": 2,
    }
    assert "CreateTrainingJob" not in deployed.operations("sagemaker")
    assert run.status() == "InProgress"

    # The state machine would now create the job; stand in for it and finish the execution.
    job = "sagestack-dev-train-0123456789abcdef"
    deployed.client("sagemaker").create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={
            "TrainingImage": XGBOOST_TRAINING_IMAGE,
            "TrainingInputMode": "File",
        },
        RoleArn=deployed["training-role-arn"],
        OutputDataConfig={"S3OutputPath": "s3://sagestack-dev-artifacts/training/models"},
        ResourceConfig={"InstanceType": "ml.m5.2xlarge", "InstanceCount": 2, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )
    logs = deployed.client("logs")
    logs.create_log_group(logGroupName="/aws/sagemaker/TrainingJobs")
    logs.create_log_stream(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=f"{job}/algo-1-1700000000"
    )
    logs.put_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName=f"{job}/algo-1-1700000000",
        logEvents=[
            {
                "timestamp": int(time.time() * 1000),
                "message": "[49]\ttrain-auc:0.99\tvalidation-auc:0.97",
            }
        ],
    )
    execution = _moto_execution(run.execution_arn)  # type: ignore[attr-defined]
    monkeypatch.setattr(
        type(execution), "get_execution_history", lambda self, role: _task_scheduled(job)
    )
    execution.status = "SUCCEEDED"
    execution.output = json.dumps(
        {"model_package_arn": "arn:aws:sagemaker:eu-west-1:1:model-package/x/1"}
    )

    artifacts = run.wait()
    assert (
        artifacts.uri == f"s3://sagestack-dev-artifacts/training/models/{job}/output/model.tar.gz"
    )
    assert run.status() == "Completed"
    assert "train-auc:0.99" in capsys.readouterr().out  # the job's log, from CloudWatch


def test_xgboost_fit_reports_a_failed_quality_gate(deployed: Deployed) -> None:
    model = XGBoostModel(boto_session=deployed.session)
    data = {
        "train": S3DataSource("s3://sagestack-dev-data/train/"),
        "validation": S3DataSource("s3://sagestack-dev-data/validation/"),
    }
    run = model.fit(TrainingInstance("ml.m5.xlarge"), data, {"num_round": 5}, wait=False)
    execution = _moto_execution(run.execution_arn)  # type: ignore[attr-defined]
    execution.status, execution.error = "FAILED", "QualityGateFailed"
    execution.cause = "validation:auc = 0.61 is below the quality gate threshold 0.8"
    with pytest.raises(TrainingFailedError, match="QualityGateFailed: validation:auc = 0.61"):
        run.wait()


def test_xgboost_fit_uploads_local_data_once_with_the_platform_key(
    deployed: Deployed, channels: Channels
) -> None:
    model = XGBoostModel(boto_session=deployed.session)
    model.fit(TrainingInstance("ml.m5.xlarge"), channels.both, {"num_round": 5}, wait=False)
    request = json.loads(deployed.params("stepfunctions", "StartExecution")[0]["input"])
    train = S3DataSource(request["train_s3_uri"])
    assert train.bucket == "sagestack-dev-data"
    assert train.key.startswith("uploads/train/") and train.key.endswith("/")
    head = deployed.client("s3").head_object(Bucket=train.bucket, Key=f"{train.key}part-0.csv")
    assert head["SSEKMSKeyId"] == deployed["kms-key-arn"]
    uploads = len(deployed.params("s3", "PutObject"))
    assert uploads == 2

    model.fit(TrainingInstance("ml.m5.xlarge"), channels.both, {"num_round": 5}, wait=False)
    assert len(deployed.params("s3", "PutObject")) == uploads  # same content, no upload
    second = json.loads(deployed.params("stepfunctions", "StartExecution")[1]["input"])
    assert second["train_s3_uri"] == request["train_s3_uri"]


def test_xgboost_fit_needs_train_and_validation(deployed: Deployed, channels: Channels) -> None:
    model = XGBoostModel(boto_session=deployed.session)
    with pytest.raises(ConfigurationError, match="missing \\['validation'\\]"):
        model.fit(TrainingInstance("ml.m5.xlarge"), channels.train, {"num_round": 5})


# ----------------------------------------------------------------------- a custom model


def test_custom_fit_creates_a_training_job_with_the_platform_settings(
    deployed: Deployed, channels: Channels
) -> None:
    model = NearestCentroid(image_uri=CUSTOM_IMAGE, boto_session=deployed.session)
    instance = TrainingInstance(
        "ml.m5.large", volume_size_gib=50, max_runtime_s=3600, spot=True, max_wait_s=7200
    )
    artifacts = model.fit(instance, channels.both, {"scale": 2.0})

    (request,) = deployed.params("sagemaker", "CreateTrainingJob")
    name = request["TrainingJobName"]
    assert name.startswith("sagestack-nearest-centroid-")
    key = deployed["kms-key-arn"]
    artifacts_bucket = "s3://sagestack-dev-artifacts"
    code_uri = request["InputDataConfig"][2]["DataSource"]["S3DataSource"]["S3Uri"]
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": CUSTOM_IMAGE,
        "TrainingInputMode": "File",
        "MetricDefinitions": [
            # sagestack.contract.metrics, the regexes the Training stack uses too.
            {
                "Name": "train:accuracy",
                "Regex": r".*\[[0-9]+\].*(?:#011|\t)train-accuracy:([-+0-9.eE]+)",
            },
            {
                "Name": "validation:accuracy",
                "Regex": r".*\[[0-9]+\].*(?:#011|\t)validation-accuracy:([-+0-9.eE]+)",
            },
        ],
        # Started without the image's toolkit, so nothing is pip-installed at start-up.
        "ContainerEntrypoint": [
            "/bin/sh",
            "-c",
            "set -e; mkdir -p /opt/ml/code; tar -xzf /opt/ml/input/data/code/sourcedir.tar.gz "
            "-C /opt/ml/code; cd /opt/ml/code; exec python3 sagestack_train.py",
        ],
    }
    assert request["RoleArn"] == deployed["training-role-arn"]
    assert request["HyperParameters"] == {
        "scale": "2.0",
        "sagestack_model": "numpy_models:NearestCentroid",
    }
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["train", "validation", "code"]
    train = request["InputDataConfig"][0]
    assert train["ContentType"] == "text/csv"
    assert train["DataSource"]["S3DataSource"]["S3Uri"].startswith(
        "s3://sagestack-dev-data/uploads/train/"
    )
    assert train["DataSource"]["S3DataSource"]["S3DataDistributionType"] == "FullyReplicated"
    assert code_uri.startswith(f"{artifacts_bucket}/training/sdk/code/")
    assert code_uri.endswith("/sourcedir.tar.gz")
    assert request["OutputDataConfig"] == {
        "S3OutputPath": f"{artifacts_bucket}/training/models",
        "KmsKeyId": key,
    }
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 50,
        "VolumeKmsKeyId": key,
    }
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    assert request["CheckpointConfig"] == {
        "S3Uri": f"{artifacts_bucket}/training/checkpoints/{name}/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["VpcConfig"] == {
        "SecurityGroupIds": [deployed["security-group-id"]],
        "Subnets": deployed["subnet-ids"].split(","),
    }
    assert request["EnableNetworkIsolation"] is True
    assert request["EnableInterContainerTrafficEncryption"] is True
    assert request["EnableManagedSpotTraining"] is True
    # The workbench roles' Create* grants require this environment's tag (aws:RequestTag).
    assert {"Key": "sagestack:environment", "Value": "dev"} in request["Tags"]

    # moto holds the same job, and the code archive is what packaging built.
    described = deployed.client("sagemaker").describe_training_job(TrainingJobName=name)
    assert described["RoleArn"] == deployed["training-role-arn"]
    assert artifacts.uri == described["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifacts.uri.startswith(f"{artifacts_bucket}/training/models/{name}/")
    assert {"numpy_models.py", "sagestack_train.py", "sagestack_manifest.json"} <= set(
        _tar_names(deployed, code_uri)
    )


def test_custom_fit_streams_the_job_log(
    deployed: Deployed, channels: Channels, capsys: pytest.CaptureFixture[str]
) -> None:
    model = NearestCentroid(boto_session=deployed.session)
    run = model.fit(TrainingInstance("ml.m5.large"), channels.train, wait=False)
    logs = deployed.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    logs.create_log_group(logGroupName=group)
    for host in ("algo-1", "algo-2"):
        stream = f"{run.name}/{host}-1700000000"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": int(time.time() * 1000), "message": f"hello from {host}"}],
        )
    request = deployed.params("sagemaker", "CreateTrainingJob")[0]
    assert request["AlgorithmSpecification"]["TrainingImage"] == XGBOOST_TRAINING_IMAGE
    run.wait()
    out = capsys.readouterr().out
    assert "algo-1 | hello from algo-1" in out and "algo-2 | hello from algo-2" in out
    assert f"{run.name}: Completed" in out


# ----------------------------------------------------------------------------- serving


def test_xgboost_deploy_creates_model_config_and_endpoint(deployed: Deployed) -> None:
    key = "training/models/job-1/output/model.tar.gz"
    deployed.client("s3").put_object(
        Bucket="sagestack-dev-artifacts", Key=key, Body=_tar({"xgboost-model": b"{L...}"})
    )
    model = XGBoostModel(boto_session=deployed.session)
    predictor = model.deploy(
        PredictorInstance("ml.m5.large", count=2),
        S3DataSource(f"s3://sagestack-dev-artifacts/{key}"),
    )
    name = predictor.endpoint_name
    assert deployed.operations("sagemaker")[:4] == [
        "CreateModel",
        "CreateEndpointConfig",
        "CreateEndpoint",
        "DescribeEndpoint",
    ]
    (create_model,) = deployed.params("sagemaker", "CreateModel")
    container = create_model["PrimaryContainer"]
    assert create_model["ExecutionRoleArn"] == deployed["model-role-arn"]
    assert container["Image"] == XGBOOST_TRAINING_IMAGE  # same URI for training and inference
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_REGION": REGION,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "PIP_NO_BUILD_ISOLATION": "false",
    }
    # Network isolation: the handler travels inside the (repacked) archive.
    assert container["ModelDataUrl"].startswith("s3://sagestack-dev-artifacts/training/sdk/models/")
    assert "code/inference.py" in _tar_names(deployed, container["ModelDataUrl"])
    assert "xgboost-model" in _tar_names(deployed, container["ModelDataUrl"])
    assert create_model["VpcConfig"] == {
        "SecurityGroupIds": [deployed["security-group-id"]],
        "Subnets": deployed["subnet-ids"].split(","),
    }
    assert create_model["EnableNetworkIsolation"] is True
    (config,) = deployed.params("sagemaker", "CreateEndpointConfig")
    assert config["KmsKeyId"] == deployed["kms-key-arn"]
    (endpoint,) = deployed.params("sagemaker", "CreateEndpoint")
    environment_tag = {"Key": "sagestack:environment", "Value": "dev"}
    for request in (create_model, config, endpoint):
        assert environment_tag in request["Tags"]
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": name,
            "InitialVariantWeight": 1.0,
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 2,
        }
    ]
    sagemaker = deployed.client("sagemaker")
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    assert (
        sagemaker.describe_model(ModelName=name)["ExecutionRoleArn"] == deployed["model-role-arn"]
    )

    from moto.sagemakerruntime.models import sagemakerruntime_backends

    body = json.dumps(
        {
            "predictions": [
                {"predicted_label": 1, "probability": 0.9},
                {"predicted_label": 0, "probability": 0.2},
            ]
        }
    )
    sagemakerruntime_backends[ACCOUNT][REGION].results_queue.append(
        (body, "application/json", "AllTraffic", "")
    )
    scores = predictor.predict(np.array([[1.0, 2.0], [3.0, float("nan")]]))
    np.testing.assert_allclose(scores, [0.9, 0.2])
    (invoke,) = deployed.params("sagemaker-runtime", "InvokeEndpoint")
    assert (invoke["EndpointName"], invoke["ContentType"], invoke["Accept"]) == (
        name,
        "text/csv",
        "application/json",
    )
    assert invoke["Body"] == b"1.0,2.0\n3.0,"  # NaN travels as an empty field

    predictor.delete()
    assert deployed.operations("sagemaker")[-3:] == [
        "DeleteEndpoint",
        "DeleteEndpointConfig",
        "DeleteModel",
    ]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_models()["Models"] == []
    predictor.delete()  # a second delete is harmless


def test_custom_deploy_ships_the_archive_as_built(deployed: Deployed, tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(_tar({"model.pkl": b"x", "code/sagestack_serve.py": b"# handler"}))
    model = NearestCentroid(image_uri=CUSTOM_IMAGE, boto_session=deployed.session)
    predictor = model.deploy(PredictorInstance("ml.m5.large"), S3DataSource.local(archive))
    (create_model,) = deployed.params("sagemaker", "CreateModel")
    container = create_model["PrimaryContainer"]
    assert container["Image"] == CUSTOM_IMAGE
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "sagestack_serve.py"
    assert container["Environment"]["SAGESTACK_MODEL"] == "numpy_models:NearestCentroid"
    assert _tar_names(deployed, container["ModelDataUrl"]) == [
        "code/sagestack_serve.py",
        "model.pkl",
    ]
    # What the workbench roles' CreateModel and CreateEndpointConfig conditions require.
    assert create_model["EnableNetworkIsolation"] is True
    assert create_model["VpcConfig"]["Subnets"] == deployed["subnet-ids"].split(",")
    (config,) = deployed.params("sagemaker", "CreateEndpointConfig")
    assert config["KmsKeyId"] == deployed["kms-key-arn"]
    predictor.delete()


def test_fails_on_a_serverless_deploy_before_creating_anything(
    deployed: Deployed, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(_tar({"model.pkl": b"x", "code/sagestack_serve.py": b"# handler"}))
    model = NearestCentroid(image_uri=CUSTOM_IMAGE, boto_session=deployed.session)
    with pytest.raises(ConfigurationError, match="neither in a VPC nor network-isolated"):
        model.deploy(PredictorInstance.serverless(3072, 4), S3DataSource.local(archive))
    assert deployed.operations("sagemaker") == []
    assert deployed.operations("s3") == []


def test_a_local_xgboost_archive_is_repacked_and_uploaded(
    deployed: Deployed, tmp_path: Path
) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(_tar({"xgboost-model": b"{L...}"}))
    predictor = XGBoostModel(boto_session=deployed.session).deploy(
        PredictorInstance("ml.m5.large"), S3DataSource.local(archive)
    )
    url = deployed.params("sagemaker", "CreateModel")[0]["PrimaryContainer"]["ModelDataUrl"]
    assert url.startswith("s3://sagestack-dev-artifacts/training/sdk/models/")
    assert _tar_names(deployed, url) == [
        "code",
        "code/decoders.py",
        "code/encoders.py",
        "code/inference.py",
        "code/negotiation.py",
        "code/sagestack_serve.py",
        "xgboost-model",
    ]
    predictor.delete()


# ------------------------------------------------------------------------------ errors


def test_fails_when_the_environment_is_not_deployed(deployed: Deployed, channels: Channels) -> None:
    model = NearestCentroid(environment="prod", boto_session=deployed.session)
    with pytest.raises(PlatformNotDeployedError) as raised:
        model.fit(TrainingInstance("ml.m5.large"), channels.train)
    assert str(raised.value) == (
        "Environment 'prod' is not deployed in region eu-west-1: no SSM parameters under "
        "/sagestack/prod/; deploy it with `make deploy ENV=prod` (or set SAGESTACK_ENV to the "
        "environment you deployed)."
    )


def test_fails_naming_the_missing_stack(deployed: Deployed, channels: Channels) -> None:
    deployed.client("ssm").delete_parameter(Name="/sagestack/dev/training-state-machine-arn")
    model = XGBoostModel(boto_session=deployed.session)
    with pytest.raises(
        PlatformNotDeployedError, match="has no Training stack in region eu-west-1"
    ) as raised:
        model.fit(TrainingInstance("ml.m5.large"), channels.both, {"num_round": 5})
    assert "/sagestack/dev/training-state-machine-arn is missing" in str(raised.value)
    assert "make deploy ENV=dev" in str(raised.value)


def test_fails_without_credentials(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, channels: Channels
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(CredentialsError, match="No AWS credentials found") as raised:
        NearestCentroid().fit(TrainingInstance("ml.m5.large"), channels.train)
    assert "TrainingInstance('local')" in str(raised.value)


def test_fails_without_a_region(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="No AWS region configured: set AWS_REGION"):
        NearestCentroid().deploy(PredictorInstance("ml.m5.large"), "s3://bucket/model.tar.gz")


def test_fails_on_data_in_another_region(deployed: Deployed) -> None:
    deployed.session.client("s3", region_name="us-west-2").create_bucket(
        Bucket="team-data-oregon", CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    model = NearestCentroid(boto_session=deployed.session)
    with pytest.raises(RegionMismatchError) as raised:
        model.fit(TrainingInstance("ml.m5.large"), S3DataSource("s3://team-data-oregon/train/"))
    assert str(raised.value).startswith(
        "Bucket team-data-oregon (channel 'train') is in us-west-2, but environment 'dev' runs "
        "in eu-west-1"
    )


def test_fails_on_an_image_in_another_region(deployed: Deployed, channels: Channels) -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-sklearn:1.4"
    model = NearestCentroid(image_uri=image, boto_session=deployed.session)
    with pytest.raises(RegionMismatchError, match=f"Image {image} is in us-east-1"):
        model.fit(TrainingInstance("ml.m5.large"), channels.train)


def test_fails_on_a_bucket_the_job_role_cannot_read(deployed: Deployed) -> None:
    deployed.client("s3").create_bucket(
        Bucket="someone-elses-data", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    model = NearestCentroid(boto_session=deployed.session)
    with pytest.raises(
        ConfigurationError,
        match="reads s3://sagestack-dev-data and s3://sagestack-dev-artifacts only",
    ):
        model.fit(TrainingInstance("ml.m5.large"), S3DataSource("s3://someone-elses-data/train/"))
