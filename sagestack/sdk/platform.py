"""The deployed environment as the SDK sees it: the values the stacks publish in SSM.

Every stack publishes what the SDK needs under ``/sagestack/<environment>/<name>``
(sagestack.contract.discovery); one GetParametersByPath call reads them all, so nothing is
configured by hand and a missing value names the stack to deploy. AWS errors that mean "fix
your set-up" (no credentials, no region, access denied) become SDK errors that say how.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sagestack.contract.discovery import PUBLISHED_BY, environment_path, parameter_name
from sagestack.sdk.errors import (
    AccessDeniedError,
    ConfigurationError,
    CredentialsError,
    PlatformNotDeployedError,
    RegionMismatchError,
)

ENVIRONMENT_VARIABLE = "SAGESTACK_ENV"
DEFAULT_ENVIRONMENT = "dev"
_CREDENTIAL_ERRORS = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AuthFailure",
    }
)
_ARN_REGION = re.compile(r"^arn:[^:]+:[^:]+:([^:]*):")


def environment_name(explicit: str | None = None) -> str:
    """The environment to use: the argument, else $SAGESTACK_ENV, else ``dev``."""
    return explicit or os.environ.get(ENVIRONMENT_VARIABLE) or DEFAULT_ENVIRONMENT


def deploy_hint(environment: str) -> str:
    return (
        f"deploy it with `make deploy ENV={environment}` (or set {ENVIRONMENT_VARIABLE} to the "
        "environment you deployed)"
    )


@contextmanager
def aws_errors(environment: str, region: str | None) -> Iterator[None]:
    """Turn set-up problems raised by botocore into errors that say what to do."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise CredentialsError(
            f"No AWS credentials found ({exc}). Configure them (`aws configure`, AWS_PROFILE, "
            "or `aws sso login`; on the SageStack notebook instance its role provides them), "
            "or use TrainingInstance('local') / PredictorInstance('local') to work without AWS."
        ) from None
    except NoRegionError:
        raise ConfigurationError(
            "No AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION) to the region "
            f"the {environment!r} stacks are deployed in, or pass region= to the model."
        ) from None
    except EndpointConnectionError as exc:
        raise ConfigurationError(f"Cannot reach AWS in region {region}: {exc}") from None
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", exc))
        operation = exc.operation_name
        if code in _CREDENTIAL_ERRORS:
            raise CredentialsError(
                f"AWS rejected the credentials ({code}: {message}); refresh them "
                "(`aws sso login`, new keys) and retry."
            ) from None
        if code.startswith("AccessDenied") or code in ("UnauthorizedOperation", "Forbidden"):
            raise AccessDeniedError(
                f"{operation} was denied ({message}). The SDK runs as whoever the credentials "
                "belong to: use the SageStack notebook instance or dev box, whose roles hold "
                f"the permissions of environment {environment!r}, or grant the same."
            ) from None
        raise


@dataclass
class Platform:
    """One environment's published values in one account and region, plus boto3 clients."""

    environment: str
    region: str
    session: Any  # boto3.Session
    values: Mapping[str, str]
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def get(self, name: str) -> str:
        value = self.values.get(name)
        if not value:
            stack = PUBLISHED_BY.get(name, "a")
            raise PlatformNotDeployedError(
                f"Environment {self.environment!r} has no {stack} stack in region "
                f"{self.region}: SSM parameter {parameter_name(self.environment, name)} is "
                f"missing; {deploy_hint(self.environment)}."
            )
        return value

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, region_name=self.region)
        return self._clients[service]

    def errors(self) -> Any:
        """``with platform.errors(): ...`` around AWS calls."""
        return aws_errors(self.environment, self.region)

    @property
    def data_bucket(self) -> str:
        return self.get("data-bucket")

    @property
    def artifacts_bucket(self) -> str:
        return self.get("artifacts-bucket")

    @property
    def kms_key_arn(self) -> str:
        return self.get("kms-key-arn")

    @property
    def training_role_arn(self) -> str:
        return self.get("training-role-arn")

    @property
    def model_role_arn(self) -> str:
        return self.get("model-role-arn")

    @property
    def subnet_ids(self) -> list[str]:
        return [s for s in self.get("subnet-ids").split(",") if s]

    @property
    def security_group_ids(self) -> list[str]:
        return [self.get("security-group-id")]

    @property
    def training_state_machine_arn(self) -> str:
        return self.get("training-state-machine-arn")

    def check_region(self, what: str, region: str | None) -> None:
        """SageMaker reads data, images and keys in its own region only."""
        if region and region != self.region:
            raise RegionMismatchError(
                f"{what} is in {region}, but environment {self.environment!r} runs in "
                f"{self.region}; SageMaker uses resources of its own region only. Copy it to "
                f"{self.region}, or set AWS_REGION={region} if the stacks are deployed there."
            )


def connect(
    environment: str | None = None, region: str | None = None, session: Any = None
) -> Platform:
    """Read the environment's published values; fail with the fix if it is not deployed."""
    import boto3

    name = environment_name(environment)
    session = session or boto3.Session(region_name=region)
    resolved = region or session.region_name
    with aws_errors(name, resolved):
        if not resolved:
            from botocore.exceptions import NoRegionError

            raise NoRegionError()
        ssm = session.client("ssm", region_name=resolved)
        prefix = f"{environment_path(name)}/"
        values: dict[str, str] = {}
        for page in ssm.get_paginator("get_parameters_by_path").paginate(
            Path=prefix, Recursive=True
        ):
            for parameter in page["Parameters"]:
                values[parameter["Name"][len(prefix) :]] = parameter["Value"]
    if not values:
        raise PlatformNotDeployedError(
            f"Environment {name!r} is not deployed in region {resolved}: no SSM parameters "
            f"under {prefix}; {deploy_hint(name)}."
        )
    platform = Platform(name, resolved, session, values)
    key = values.get("kms-key-arn", "")
    match = _ARN_REGION.match(key)
    platform.check_region(f"The KMS key of environment {name!r}", match.group(1) if match else None)
    return platform
