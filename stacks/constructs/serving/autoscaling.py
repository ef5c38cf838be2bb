"""Autoscaling of an instance endpoint's variant through Application Auto Scaling."""

from __future__ import annotations

from aws_cdk import Aws, Duration, Fn
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.constructs import prop_checks
from stacks.constructs.serving.endpoint import VARIANT_NAME
from stacks.constructs.serving.props import EndpointProps


def add_autoscaling(
    scope: Construct, p: EndpointProps, endpoint: sagemaker.CfnEndpoint
) -> appscaling.ScalableTarget:
    """Target tracking on invocations per instance, between the min and max instance counts."""
    scalable_target = appscaling.ScalableTarget(
        scope,
        "ScalableTarget",
        service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
        resource_id=Fn.join(
            "", ["endpoint/", endpoint.attr_endpoint_name, f"/variant/{VARIANT_NAME}"]
        ),
        scalable_dimension="sagemaker:variant:DesiredInstanceCount",
        min_capacity=p.instance_count,
        max_capacity=prop_checks.resolved(p.max_instance_count),
        # Application Auto Scaling acts through its service-linked role for SageMaker; naming
        # it avoids a second, CDK-made role.
        role=iam.Role.from_role_arn(
            scope,
            "AutoScalingServiceLinkedRole",
            f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
            "sagemaker.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
            mutable=False,
        ),
    )
    scalable_target.scale_to_track_metric(
        "InvocationsPerInstance",
        target_value=p.target_invocations_per_instance,
        predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        scale_in_cooldown=Duration.seconds(p.scale_in_cooldown_s),
        scale_out_cooldown=Duration.seconds(p.scale_out_cooldown_s),
    )
    return scalable_target
