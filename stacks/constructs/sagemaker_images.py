"""Where the official SageMaker XGBoost image lives in each region, read from sagemaker-core."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

XGBOOST_CONTAINER_VERSION = "3.2-0"
"""The SageMaker XGBoost container pinned project-wide; it ships xgboost 3.2.0 (see pyproject)."""

_MAPPING_ID = "XgboostImageRegistry"


@cache
def xgboost_registries(version: str = XGBOOST_CONTAINER_VERSION) -> tuple[str, dict[str, str]]:
    """(repository, {region: registry account}) from the pinned sagemaker-core's image config.

    The JSON is read from the installed package without importing it (that takes seconds), so
    synth stays offline and deterministic: the mapping changes only with the sagemaker-core pin.
    """
    spec = importlib.util.find_spec("sagemaker")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("sagemaker-core is not installed; run `uv sync --frozen`")
    config_path = Path(next(iter(spec.submodule_search_locations)))
    config = json.loads((config_path / "core/image_uri_config/xgboost.json").read_text())
    entry = config["training"]["versions"][version]
    return entry["repository"], dict(sorted(entry["registries"].items()))


class XgboostImage:
    """The XGBoost image URI and ECR repository ARN for the deploy region, as CFN expressions.

    A region-keyed CfnMapping resolves the registry account at deploy time, so environment-agnostic
    stacks get exact ARNs (no `*` account) and an unsupported region fails the deploy clearly.
    """

    def __init__(self, scope: Construct, version: str = XGBOOST_CONTAINER_VERSION) -> None:
        stack = Stack.of(scope)
        repository, registries = xgboost_registries(version)
        mapping = stack.node.try_find_child(_MAPPING_ID)
        if not isinstance(mapping, CfnMapping):
            mapping = CfnMapping(
                stack,
                _MAPPING_ID,
                mapping={region: {"account": account} for region, account in registries.items()},
            )
        account = mapping.find_in_map(Aws.REGION, "account")
        self.repository_arn = stack.format_arn(
            service="ecr", account=account, resource="repository", resource_name=repository
        )
        self.image_uri = (
            f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{repository}:{version}"
        )
