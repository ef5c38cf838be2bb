"""The model registry: a SageMaker model package group that the Data stack owns and retains."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct


def model_package_group(
    scope: Construct, name: str, description: str
) -> sagemaker.CfnModelPackageGroup:
    """The model registry: the record of every model that passed the gate, kept (with its
    versions) when its stack is deleted.

    A function, not a Construct, so the group sits directly under ``scope`` as
    ``ModelPackageGroup`` and its logical ID does not depend on who declares it.
    """
    group = sagemaker.CfnModelPackageGroup(
        scope,
        "ModelPackageGroup",
        model_package_group_name=name,
        model_package_group_description=description,
    )
    group.apply_removal_policy(RemovalPolicy.RETAIN)
    return group
