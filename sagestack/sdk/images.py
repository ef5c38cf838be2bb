"""Container image URIs: the pinned SageMaker XGBoost image, and checks on user-given images.

The registry accounts come from sagemaker-core's image map (the data behind
``sagemaker.core.image_uris.retrieve``), read directly: importing sagemaker.core takes seconds.
The Training and Serving stacks pin the same version (stacks/constructs/image_uri.py).
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

from sagestack.sdk.errors import ConfigurationError

XGBOOST_VERSION = "3.2-0"
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/.+")


@functools.cache
def _xgboost_config() -> dict[str, Any]:
    distribution = importlib.metadata.distribution("sagemaker-core")
    path = distribution.locate_file("sagemaker/core/image_uri_config/xgboost.json")
    return dict(json.loads(Path(str(path)).read_text(encoding="utf-8")))


@functools.cache
def _dns_suffix(region: str) -> str:
    import botocore.loaders
    import botocore.regions

    resolver = botocore.regions.EndpointResolver(
        botocore.loaders.create_loader().load_data("endpoints")
    )
    partition = resolver.get_partition_for_region(region)
    return str(resolver.get_partition_dns_suffix(partition) or "amazonaws.com")


def xgboost_image_uri(region: str, scope: str = "inference", version: str = XGBOOST_VERSION) -> str:
    """``<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:3.2-0`` for ``region``."""
    versions = _xgboost_config()[scope]["versions"]
    config = versions[version]
    account = config["registries"].get(region)
    if account is None:
        raise ConfigurationError(
            f"the SageMaker XGBoost {version} image is not published in {region}; regions: "
            + ", ".join(sorted(config["registries"]))
        )
    return f"{account}.dkr.ecr.{region}.{_dns_suffix(region)}/{config['repository']}:{version}"


def image_region(image_uri: str) -> str | None:
    """The region of an ECR image URI (None for other registries)."""
    match = _ECR_IMAGE.match(image_uri)
    return match.group(3) if match else None
