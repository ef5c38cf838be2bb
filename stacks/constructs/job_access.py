"""IAM statements that SageMaker jobs and the state machines starting them need on the data key."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from stacks.constructs.naming import sync_events_rule_arn


def pass_role_statement(roles: Sequence[iam.IRole]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[role.role_arn for role in roles],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )


def data_key_statements(key: kms.IKey) -> list[iam.PolicyStatement]:
    """What a SageMaker job needs of the data key: encrypt/decrypt its data and let SageMaker
    grant the key to the volumes it attaches (and to nothing else)."""
    return [
        iam.PolicyStatement(
            sid="UseDataKey",
            actions=[
                "kms:Decrypt",
                "kms:Encrypt",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:DescribeKey",
            ],
            resources=[key.key_arn],
        ),
        iam.PolicyStatement(
            sid="GrantVolumeKey",
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]


def sync_rule_statement(rule: str) -> iam.PolicyStatement:
    """Lets a state machine set up the managed EventBridge rule that its .sync tasks wait on."""
    return iam.PolicyStatement(
        actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
        resources=[sync_events_rule_arn(rule)],
    )


def volume_grant_statements(key: kms.IKey) -> list[iam.PolicyStatement]:
    """SageMaker creates grants on the key for a job's volume and output on behalf of the caller
    of the Create*Job call, so the state machine needs CreateGrant for AWS resources only.

    DescribeKey stands apart: kms:GrantIsForAWSResource exists only in CreateGrant requests, so
    under that condition DescribeKey would never be allowed (parliament's
    UNKNOWN_CONDITION_FOR_ACTION found this).
    """
    return [
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
        iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[key.key_arn]),
    ]
