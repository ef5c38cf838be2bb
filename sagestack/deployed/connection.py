"""One deployed environment reached with the user's own credentials: who they are, which stacks
exist, and a credential problem turned into the command that fixes it."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sagestack.contract.discovery import PUBLISHED_BY, PUBLISHING_STACKS, stack_name
from sagestack.sdk.errors import CredentialsError
from sagestack.sdk.platform import Platform, aws_errors, connect, environment_name

BANNER_TTL_S = 60.0
"""How long the caller identity is reused: a banner on every page, not a call each."""

_NO_CREDENTIALS = "No AWS credentials found ({exc})."
_SSO_EXPIRED = "The SSO session has expired or is missing ({exc})."
_NO_PROFILE = "The AWS profile {profile!r} is not in ~/.aws/config."
_NOT_LOADED = "boto3 could not load credentials ({exc})."


class CredentialsProblem(CredentialsError):
    """No usable credentials: ``reason`` says what boto3 found, ``command`` what to run."""

    def __init__(self, reason: str, command: str) -> None:
        super().__init__(f"{reason} Run `{command}` and retry.")
        self.reason = reason
        self.command = command


@dataclass(frozen=True)
class Identity:
    """sts:GetCallerIdentity (allowed to every principal, whatever its policies say)."""

    account: str
    arn: str
    region: str


DEPLOYED = "Deployed"
NOT_DEPLOYED = "Absent"


@dataclass(frozen=True)
class StackRow:
    name: str
    status: str  # DEPLOYED when its SSM parameters are there, else NOT_DEPLOYED


def login_command(profile: str | None) -> str:
    """What to run for fresh credentials: SSO for a named profile, else configure one."""
    if profile:
        return f"aws sso login --profile {profile}"
    return "aws sso login --profile NAME (then pass --profile NAME), or aws configure"


@dataclass
class Connection:
    """The environment's platform values, its identity and stacks, cached and rebuilt when the
    credentials change (after ``aws sso login`` a reload works without a restart)."""

    environment: str
    profile: str | None = None
    region: str | None = None
    _platform: Platform | None = field(default=None, repr=False)
    _banner: tuple[float, Identity, list[StackRow]] | None = field(default=None, repr=False)

    @classmethod
    def open(
        cls, environment: str | None, profile: str | None = None, region: str | None = None
    ) -> Connection:
        return cls(environment_name(environment), profile, region)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Around every AWS call: credential trouble becomes CredentialsProblem (and the cached
        session is dropped), the rest as sagestack.sdk.platform.aws_errors words it."""
        from botocore.exceptions import (
            CredentialRetrievalError,
            InvalidConfigError,
            NoCredentialsError,
            PartialCredentialsError,
            ProfileNotFound,
            SSOError,
            TokenRetrievalError,
        )

        command = login_command(self.profile)
        # What boto3 raised (matched in this order), what the user is told, what they run.
        causes: list[tuple[tuple[type[Exception], ...], str, str]] = [
            ((NoCredentialsError, PartialCredentialsError), _NO_CREDENTIALS, command),
            ((SSOError, TokenRetrievalError), _SSO_EXPIRED, command),
            ((ProfileNotFound,), _NO_PROFILE, f"aws configure sso --profile {self.profile}"),
            ((CredentialRetrievalError, InvalidConfigError), _NOT_LOADED, command),
        ]
        try:
            with aws_errors(self.environment, self.region):
                try:
                    yield
                except tuple(kind for kinds, _, _ in causes for kind in kinds) as exc:
                    reason, fix = next((r, c) for k, r, c in causes if isinstance(exc, k))
                    text = reason.format(exc=exc, profile=self.profile)
                    raise CredentialsProblem(text, fix) from None
        except CredentialsProblem:
            self.reset()
            raise
        except CredentialsError as exc:  # AWS rejected them: expired or revoked keys
            self.reset()
            raise CredentialsProblem(str(exc), command) from None

    def reset(self) -> None:
        self._platform = None
        self._banner = None

    def session(self) -> Any:
        import boto3

        return boto3.Session(profile_name=self.profile, region_name=self.region)

    def platform(self) -> Platform:
        """The environment's published values (one GetParametersByPath), read once."""
        if self._platform is None:
            with self.errors():
                self._platform = connect(self.environment, self.region, self.session())
        return self._platform

    def client(self, service: str) -> Any:
        return self.platform().client(service)

    def banner(self) -> tuple[Identity, list[StackRow]]:
        """Who the credentials belong to (at most BANNER_TTL_S old) and the stacks deployed."""
        now = time.monotonic()
        if self._banner is None or now - self._banner[0] > BANNER_TTL_S:
            platform = self.platform()
            with self.errors():
                who = platform.client("sts").get_caller_identity()
                identity = Identity(who["Account"], who["Arn"], platform.region)
            self._banner = (now, identity, published_stacks(platform.values, self.environment))
        return self._banner[1], self._banner[2]


def published_stacks(values: Mapping[str, str], environment: str) -> list[StackRow]:
    """Which of the environment's stacks are deployed, from the SSM values each publishes: no
    CloudFormation call, so no permission and no VPC endpoint beyond what the SDK uses."""
    present = {PUBLISHED_BY[name] for name in values if name in PUBLISHED_BY}
    return [
        StackRow(stack_name(environment, s), DEPLOYED if s in present else NOT_DEPLOYED)
        for s in PUBLISHING_STACKS
    ]
