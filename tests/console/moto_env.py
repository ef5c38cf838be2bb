"""A deployed ``dev`` environment inside moto: moto_server in a subprocess on loopback, every
stack of the synthesized dev Stage created through its CloudFormation (tests/reliability's
emulator), then what AWS itself would add that moto does not.

moto's CloudFormation skips ``AWS::SageMaker::ModelPackageGroup`` and its Step Functions do not
run the state machine, so :func:`play_execution` does what the Training state machine would:
the training job under the name the definition gives it (``<prefix>-<md5 of the execution
ARN>``), its log events in /aws/sagemaker/TrainingJobs, and the registered model package.
Each of those is a plain moto API call; nothing here fakes a response.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from reliability.cfn_emulator import REGION, Emulator, publish_assets, stacks_of
from waiting import free_port, running

from sagestack.contract.discovery import environment_path
from sagestack.deployed.training import execution_job_suffix

ENV = "dev"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}


@contextmanager
def moto_server() -> Iterator[str]:
    """``moto_server`` in its own process (its backends apart from any in-process moto)."""
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(f"{url}/moto-api/", timeout=2).ok
        except requests.ConnectionError:
            return False

    with running(process, up, "moto_server to answer"):
        yield url


@dataclass
class MotoEnvironment:
    """The deployed environment: its endpoint URL, published values and a client factory."""

    url: str
    emulator: Emulator

    def client(self, service: str) -> Any:
        return self.emulator.client(service)

    @property
    def values(self) -> dict[str, str]:
        prefix = f"{environment_path(ENV)}/"
        pages = (
            self.client("ssm")
            .get_paginator("get_parameters_by_path")
            .paginate(Path=prefix, Recursive=True)
        )
        return {p["Name"][len(prefix) :]: p["Value"] for page in pages for p in page["Parameters"]}

    def environ(self) -> dict[str, str]:
        """What a process needs to reach this environment with boto3's default chain."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    def play_execution(
        self,
        execution_arn: str,
        *,
        status: str = "Completed",
        metric: float = 0.97,
        log_lines: tuple[str, ...] = (),
        register: bool = True,
        failure_reason: str | None = None,
    ) -> tuple[str, str | None]:
        """What the Training state machine does for ``execution_arn`` on AWS, through moto's
        APIs: the job, its log, its model package. (job name, package ARN or None)."""
        values = self.values
        sagemaker = self.client("sagemaker")
        execution = self.client("stepfunctions").describe_execution(executionArn=execution_arn)
        given = json.loads(execution["input"])
        job = f"sagestack-train-{execution_job_suffix(execution_arn)}"
        artifacts = values["artifacts-bucket"]
        sagemaker.create_training_job(
            TrainingJobName=job,
            AlgorithmSpecification={
                "TrainingImage": IMAGE,
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "validation:auc", "Regex": "validation-auc:(.*)"}],
            },
            RoleArn=values["training-role-arn"],
            HyperParameters=given.get("hyperparameters", {}),
            InputDataConfig=[
                {
                    "ChannelName": channel,
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": given[f"{channel}_s3_uri"],
                        }
                    },
                }
                for channel in ("train", "validation")
            ],
            OutputDataConfig={"S3OutputPath": f"s3://{artifacts}/training/models"},
            ResourceConfig={
                "InstanceType": given.get("instance_type", "ml.m5.xlarge"),
                "InstanceCount": int(given.get("instance_count", 1)),
                "VolumeSizeInGB": 30,
            },
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        logs = self.client("logs")
        group = "/aws/sagemaker/TrainingJobs"
        if group not in {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}:
            logs.create_log_group(logGroupName=group)
        if log_lines:
            now_ms = int(time.time() * 1000)  # CloudWatch drops events older than 14 days
            stream = f"{job}/algo-1-{now_ms // 1000}"
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[
                    {"timestamp": now_ms + i, "message": line} for i, line in enumerate(log_lines)
                ],
            )
        package = None
        if register and status == "Completed":
            group_name = values["model-package-group-name"]
            package = sagemaker.create_model_package(
                ModelPackageGroupName=group_name,
                ModelApprovalStatus="PendingManualApproval",
                ModelPackageDescription=f"Training job {job}: validation:auc = {metric}",
                InferenceSpecification={
                    "Containers": [
                        {
                            "Image": IMAGE,
                            "ModelDataUrl": f"s3://{artifacts}/training/models/{job}/output/model.tar.gz",
                        }
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv", "application/json"],
                },
                CustomerMetadataProperties={
                    "training_job_name": job,
                    "gate_metric": "validation:auc",
                    "gate_metric_value": str(metric),
                    "execution_arn": execution_arn,
                },
            )["ModelPackageArn"]
        return job, package


def deploy_dev(url: str, assembly: Path) -> MotoEnvironment:
    """Every stack of the dev Stage, as `cdk deploy` would create them; then the model package
    group, which moto's CloudFormation does not model (it is in the Training stack)."""
    emulator = Emulator(url)
    stage = assembly / f"assembly-SageStack-{ENV}"
    publish_assets(stage, emulator.s3)
    for stack in stacks_of(stage):
        result = emulator.deploy(stack)
        assert result.status == "CREATE_COMPLETE", result.summary()
    env = MotoEnvironment(url, emulator)
    env.client("sagemaker").create_model_package_group(
        ModelPackageGroupName=env.values["model-package-group-name"]
    )
    return env


def apply_environ(env: MotoEnvironment) -> dict[str, str | None]:
    """Point this process's boto3 at the environment; the previous values, to restore."""
    previous = {k: os.environ.get(k) for k in env.environ()}
    os.environ.update(env.environ())
    os.environ.pop("AWS_PROFILE", None)
    return previous
