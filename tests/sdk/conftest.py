"""Fixtures for the SDK tests: a scratch working directory, tiny CSV channels, a moto platform.

Every test runs in its own working directory, so ``.sagestack/`` (jobs, artifacts, packed
code, endpoint records) never leaks between tests or into the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from sagestack.sdk import watch
from sagestack.sdk.sources import S3DataSource

REGION = "eu-west-1"
ENVIRONMENT = "dev"


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SAGESTACK_ENV", raising=False)
    return tmp_path


def binary_data(rows: int, seed: int = 0, features: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 * rng.standard_normal(rows) > 0).astype(float)
    return x, y


def write_channel(directory: Path, x: np.ndarray, y: np.ndarray) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    np.savetxt(directory / "part-0.csv", np.column_stack([y, x]), delimiter=",", fmt="%.10g")
    return directory


@dataclass
class Channels:
    train: S3DataSource
    validation: S3DataSource
    x_validation: np.ndarray
    y_validation: np.ndarray

    @property
    def both(self) -> dict[str, S3DataSource]:
        return {"train": self.train, "validation": self.validation}


@pytest.fixture
def channels(tmp_path: Path) -> Channels:
    x, y = binary_data(240)
    train = write_channel(tmp_path / "data" / "train", x[:180], y[:180])
    validation = write_channel(tmp_path / "data" / "validation", x[180:], y[180:])
    return Channels(S3DataSource.local(train), S3DataSource.local(validation), x[180:], y[180:])


# ------------------------------------------------------------------------------ AWS (moto)


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and a region; no shared config or instance metadata is consulted."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(watch, "POLL_INTERVAL_S", 0.0)


@dataclass
class Deployed:
    """What the stacks of one environment publish, as created in moto."""

    session: boto3.Session
    values: dict[str, str]
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def client(self, service: str) -> Any:
        return self.session.client(service, region_name=REGION)

    def operations(self, service: str) -> list[str]:
        return [operation for svc, operation, _ in self.calls if svc == service]

    def params(self, service: str, operation: str) -> list[dict[str, Any]]:
        return [p for svc, op, p in self.calls if (svc, op) == (service, operation)]


def _record(calls: list[tuple[str, str, dict[str, Any]]]) -> Any:
    def hook(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.service_model.service_name, model.name, dict(params)))

    return hook


@pytest.fixture(scope="session")
def shared_session() -> boto3.Session:
    """One boto3 session for every moto test: it caches the parsed service models, which are
    most of what creating a client costs. moto is imported first: it adds its request
    interceptor to the handlers every new botocore session copies. (Credentials are read at
    the first client, inside a test, from aws_env's fake keys.)"""
    import moto  # noqa: F401

    return boto3.Session(region_name=REGION)


@pytest.fixture
def deployed(aws_env: None, shared_session: boto3.Session) -> Iterator[Deployed]:
    """The Data, Network, Iam and Training stacks' published values, inside moto.

    The session records every API call (service, operation, parameters) through botocore's
    ``provide-client-params`` event, so tests can assert the exact requests.
    """
    from moto import mock_aws

    with mock_aws():
        session = shared_session
        kms = session.client("kms")
        key = kms.create_key(Description="sagestack dev data")["KeyMetadata"]["Arn"]
        s3 = session.client("s3")
        for bucket in ("sagestack-dev-data", "sagestack-dev-artifacts"):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        ec2 = session.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.10.{i}.0/24")["Subnet"]["SubnetId"]
            for i in (1, 2)
        ]
        group = ec2.create_security_group(GroupName="workload", Description="jobs", VpcId=vpc)
        iam = session.client("iam")
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "sagemaker.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        roles = {
            kind: iam.create_role(RoleName=f"sagestack-dev-{kind}", AssumeRolePolicyDocument=trust)[
                "Role"
            ]["Arn"]
            for kind in ("training", "model", "orchestration")
        }
        machine = session.client("stepfunctions").create_state_machine(
            name="sagestack-dev-training",
            definition=json.dumps({"StartAt": "Train", "States": {"Train": {"Type": "Succeed"}}}),
            roleArn=roles["orchestration"],
        )["stateMachineArn"]
        values = {
            "data-bucket": "sagestack-dev-data",
            "artifacts-bucket": "sagestack-dev-artifacts",
            "kms-key-arn": key,
            "vpc-id": vpc,
            "subnet-ids": ",".join(subnets),
            "security-group-id": group["GroupId"],
            "training-role-arn": roles["training"],
            "model-role-arn": roles["model"],
            "training-state-machine-arn": machine,
            "model-package-group-name": "sagestack-dev",
        }
        ssm = session.client("ssm")
        for name, value in values.items():
            ssm.put_parameter(Name=f"/sagestack/{ENVIRONMENT}/{name}", Value=value, Type="String")
        deployed = Deployed(session, values)
        session.events.register(
            "provide-client-params.*.*", _record(deployed.calls), unique_id="sdk-test-recorder"
        )
        yield deployed
        session.events.unregister("provide-client-params.*.*", unique_id="sdk-test-recorder")
