"""The official SageMaker XGBoost image URI, resolved at synth from sagemaker-core's image map."""

from __future__ import annotations

import functools
import importlib.metadata
import json
from pathlib import Path
from typing import Any, Literal

import botocore.loaders
import botocore.regions
from aws_cdk import Aws, CfnMapping, Fn, Stack, Token
from constructs import IConstruct

# One pinned container version everywhere (training, serving, batch, model packages): 3.2-0 ships
# xgboost 3.2.0, the version this project installs locally (its image tag 3.2-0; AWS docs, "Docker
# Registry Paths and Example Code"). Never
# "latest" or "1": those resolve to the legacy image in other accounts.
XGBOOST_VERSION = "3.2-0"
FRAMEWORK = "xgboost"

ImageScope = Literal["training", "inference"]


@functools.cache
def _framework_config() -> dict[str, Any]:
    # Read the data file sagemaker.core.image_uris reads, straight from the installed
    # distribution: importing sagemaker.core costs ~4 s and pulls in boto sessions we don't need.
    path = importlib.metadata.distribution("sagemaker-core").locate_file(
        f"sagemaker/core/image_uri_config/{FRAMEWORK}.json"
    )
    return json.loads(Path(str(path)).read_text(encoding="utf-8"))


def _version_config(image_scope: ImageScope, version: str) -> dict[str, Any]:
    scopes = _framework_config()
    if image_scope not in scopes:
        raise ValueError(f"image_scope must be one of {sorted(scopes)}, got {image_scope!r}")
    versions = scopes[image_scope]["versions"]
    if version not in versions:
        raise ValueError(
            f"version must be one of {sorted(versions)} for {FRAMEWORK}/{image_scope}, "
            f"got {version!r}"
        )
    return versions[version]


def _tag(version: str) -> str:
    # sagemaker-core's rule for this framework: 0.90-x and 1.0-1 carry "-cpu-py3", later ones are
    # the bare version (sagemaker-core's image URI config lists versions as "3.2-0").
    return f"{version}-cpu-py3" if version.startswith(("0.90-", "1.0-")) else version


def registries(
    image_scope: ImageScope = "training", version: str = XGBOOST_VERSION
) -> dict[str, str]:
    """Region -> ECR registry account for the image, as sagemaker-core lists them."""
    return dict(_version_config(image_scope, version)["registries"])


@functools.cache
def _ecr_hostname(region: str) -> str:
    # The same resolver sagemaker.core.image_uris.retrieve uses (including its il-central-1
    # fallback), so China and ISO partitions get their own DNS suffix.
    resolver = botocore.regions.EndpointResolver(
        botocore.loaders.create_loader().load_data("endpoints")
    )
    endpoint = resolver.construct_endpoint("ecr", region)
    if not endpoint:
        if region == "il-central-1":
            return f"ecr.{region}.amazonaws.com"
        raise ValueError(f"region {region!r} has no ECR endpoint in botocore's endpoint data")
    return str(endpoint["hostname"])


def image_uri_for_region(
    region: str, image_scope: ImageScope = "training", version: str = XGBOOST_VERSION
) -> str:
    """The image URI for a concrete region; equal to sagemaker.core.image_uris.retrieve()."""
    config = _version_config(image_scope, version)
    account = config["registries"].get(region)
    if account is None:
        raise ValueError(
            f"region {region!r} has no sagemaker-{FRAMEWORK} {version} image; "
            f"known regions: {', '.join(sorted(config['registries']))}"
        )
    return f"{account}.dkr.{_ecr_hostname(region)}/{config['repository']}:{_tag(version)}"


def _registry_mapping(stack: Stack, version: str) -> CfnMapping:
    mapping_id = "SageMakerXgboost" + "".join(c for c in version if c.isalnum()) + "Registries"
    existing = stack.node.try_find_child(mapping_id)
    if isinstance(existing, CfnMapping):
        return existing
    training = registries("training", version)
    inference = registries("inference", version)
    mapping = {
        region: {
            scope: accounts[region]
            for scope, accounts in (("training", training), ("inference", inference))
            if region in accounts
        }
        for region in sorted(set(training) | set(inference))
    }
    return CfnMapping(stack, mapping_id, mapping=mapping)


def xgboost_image_uri(
    scope: IConstruct, image_scope: ImageScope = "training", version: str = XGBOOST_VERSION
) -> str:
    """The official XGBoost image for the stack that holds ``scope``.

    A concrete stack region resolves to a literal URI at synth. An environment-agnostic stack
    gets a region->account CfnMapping and ``Fn::FindInMap`` on ``AWS::Region``; the hostname
    uses ``AWS::URLSuffix`` so China (amazonaws.com.cn) and ISO partitions resolve correctly.
    """
    stack = Stack.of(scope)
    if not Token.is_unresolved(stack.region):
        return image_uri_for_region(stack.region, image_scope, version)
    config = _version_config(image_scope, version)
    account = _registry_mapping(stack, version).find_in_map(Aws.REGION, image_scope)
    return Fn.join(
        "",
        [
            account,
            ".dkr.ecr.",
            Aws.REGION,
            ".",
            Aws.URL_SUFFIX,
            f"/{config['repository']}:{_tag(version)}",
        ],
    )
