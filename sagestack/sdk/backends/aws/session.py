"""What every AWS backend call shares: the platform, tags, bucket checks, channels, images."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console

from sagestack.contract.tags import ENVIRONMENT_TAG
from sagestack.sdk.errors import ConfigurationError
from sagestack.sdk.images import image_region, xgboost_image_uri
from sagestack.sdk.platform import Platform, connect
from sagestack.sdk.sources import S3DataSource
from sagestack.sdk.uploads import upload_path

if TYPE_CHECKING:
    from sagestack.sdk.model import Model

UPLOAD_PREFIX = "uploads"

console = Console()


def connect_model(model: Model) -> Platform:
    """The platform of the model's ``environment``/``region``/``boto_session`` (or defaults)."""
    return connect(
        getattr(model, "environment", None),
        getattr(model, "region", None),
        getattr(model, "boto_session", None),
    )


def resource_tags(platform: Platform, model: Model) -> list[dict[str, str]]:
    """The tags of every SageMaker resource the SDK creates: the environment tag is required by
    the workbench roles' Create* grants (aws:RequestTag) and scopes later changes to it."""
    cls = type(model)
    return [
        {"Key": ENVIRONMENT_TAG, "Value": platform.environment},
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


def check_bucket(platform: Platform, source: S3DataSource, role: str, what: str) -> None:
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
    check_bucket(platform, source, "training", f"channel {name!r}")
    return source


def image_uri(platform: Platform, model: Model, scope: str) -> str:
    """The model's own image, else the pinned XGBoost image; either in the platform's region."""
    image = getattr(model, "image_uri", None) or xgboost_image_uri(platform.region, scope)
    platform.check_region(f"Image {image}", image_region(image))
    return image
