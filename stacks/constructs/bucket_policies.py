"""Bucket policy statements of the data and artifacts buckets: where people may reach them from,
and which key their objects may be written with.

Each statement is a Deny, so it narrows what identity policies allow and never widens it.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

VPC_ONLY_TAG = "sagestack:vpc"
"""On the notebook and dev box roles: the id of the VPC their S3 requests must come from."""


def deny_outside_vpc(bucket: s3.IBucket) -> iam.PolicyStatement:
    """People's roles reach the bucket only from inside this environment's VPC.

    Denied: any request by a principal tagged ``sagestack:vpc`` (the notebook and dev box roles,
    stacks/constructs/workbench.py) whose aws:SourceVpc is not that tag's value, unless an AWS
    service makes it on the principal's behalf (aws:ViaAWSService, e.g. a forward access
    session). So credentials copied off the notebook are useless from a laptop or another VPC.

    Let through, and why:
    - CloudFormation and the CDK deploy role: not tagged, so not concerned (a deploy never
      locks itself out).
    - SageMaker with the training and model roles: not tagged either. Their jobs and models are
      forced into this VPC by the Create* conditions of the workbench grants, and SageMaker
      downloads models and images from its own network for some steps, which a source-VPC
      rule would break.
    - S3 server access logging: writes to the access-log bucket, which has no such statement.

    The VPC id comes from the role's tag (a policy variable), not from the Network stack, which
    is deployed after this one.
    """
    return iam.PolicyStatement(
        sid="PeopleOnlyFromTheirVpc",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["s3:*"],
        resources=[bucket.bucket_arn, bucket.arn_for_objects("*")],
        conditions={
            "Null": {f"aws:PrincipalTag/{VPC_ONLY_TAG}": "false"},
            "StringNotEqualsIfExists": {"aws:SourceVpc": f"${{aws:PrincipalTag/{VPC_ONLY_TAG}}}"},
            "Bool": {"aws:ViaAWSService": "false"},
        },
    )


def deny_other_keys(bucket: s3.IBucket, key: kms.IKey) -> list[iam.PolicyStatement]:
    """Objects are written with the data key or with the bucket's default (which is the data
    key): a request naming another encryption, or another KMS key, is denied.

    A request with no encryption header gets the default encryption, so it is let through;
    the Null conditions make each statement apply only when its header is present (a negated
    operator is true for a missing key).
    """
    objects = bucket.arn_for_objects("*")
    header = "s3:x-amz-server-side-encryption"
    key_header = f"{header}-aws-kms-key-id"
    return [
        iam.PolicyStatement(
            sid="OnlySseKms",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={"Null": {header: "false"}, "StringNotEquals": {header: "aws:kms"}},
        ),
        iam.PolicyStatement(
            sid="OnlyTheDataKey",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["s3:PutObject"],
            resources=[objects],
            conditions={
                "Null": {key_header: "false"},
                "StringNotEquals": {key_header: key.key_arn},
            },
        ),
    ]


def restrict_bucket(bucket: s3.IBucket, key: kms.IKey) -> None:
    """Adds the statements above to the bucket's policy."""
    for statement in (deny_outside_vpc(bucket), *deny_other_keys(bucket, key)):
        bucket.add_to_resource_policy(statement)
