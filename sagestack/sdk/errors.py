"""The SDK's exceptions: each says what went wrong and the command or setting that fixes it."""

from __future__ import annotations


class SageStackError(Exception):
    """Base class of every error the SDK raises on purpose."""


class ConfigurationError(SageStackError):
    """Something on this machine is missing or inconsistent (region, bundled code, names)."""


class CredentialsError(SageStackError):
    """No usable AWS credentials: none found, expired, or rejected by AWS."""


class AccessDeniedError(SageStackError):
    """AWS refused an action to the caller's identity."""


class DataSourceError(SageStackError):
    """A channel's data cannot be read: no such bucket, nothing under the prefix, the store
    unreachable, or the data changed while it was read."""


class PlatformNotDeployedError(SageStackError):
    """The environment's stacks (or one of them) are not deployed where the SDK looked."""


class RegionMismatchError(SageStackError):
    """Data, image or platform live in a region other than the one the job would run in."""


class TrainingFailedError(SageStackError):
    """A training job or training execution ended without model artifacts."""


class DeploymentFailedError(SageStackError):
    """An endpoint did not reach InService (or a local endpoint did not start)."""


class PredictionError(SageStackError):
    """The endpoint answered a prediction request with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message
