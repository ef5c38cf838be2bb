"""The ECR repository of the official SageMaker XGBoost image in the deploy region, for IAM."""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping, Stack
from constructs import Construct

from stacks.constructs.image_uri import XGBOOST_VERSION, ImageScope, registries

XGBOOST_REPOSITORY = "sagemaker-xgboost"
"""The repository name in every regional registry (see image_uri.xgboost_image_uri)."""


def xgboost_repository_arn(scope: Construct, image_scope: ImageScope) -> str:
    """The exact repository ARN (registry account per region) of the pinned XGBoost image.

    The account differs by region, so a region-keyed CfnMapping (from the pinned
    sagemaker-core's image map) resolves it at deploy time: environment-agnostic stacks get an
    exact ARN instead of a `*` account, and an unsupported region fails the deploy clearly.
    """
    stack = Stack.of(scope)
    mapping_id = f"Xgboost{image_scope.capitalize()}Registry"
    mapping = stack.node.try_find_child(mapping_id)
    if not isinstance(mapping, CfnMapping):
        accounts = registries(image_scope, XGBOOST_VERSION)
        mapping = CfnMapping(
            stack,
            mapping_id,
            mapping={region: {"account": accounts[region]} for region in sorted(accounts)},
        )
    return stack.format_arn(
        service="ecr",
        account=mapping.find_in_map(Aws.REGION, "account"),
        resource="repository",
        resource_name=XGBOOST_REPOSITORY,
    )
