"""SNS topics for alarms and failed executions, and the key policy that lets them be delivered."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct


def allow_publishing_to_encrypted_topics(key: kms.IKey) -> None:
    """Let CloudWatch alarms and EventBridge rules publish to SNS topics encrypted with ``key``.

    Without this statement in the key policy, alarm and rule deliveries to the topic fail
    silently. A no-op for imported keys.

    No aws:SourceAccount/aws:SourceArn here (issue 13's confused-deputy section): SNS makes
    these KMS calls for the publishing service, and the SNS and EventBridge guides' key
    policies for encrypted topics give no source condition; the confused-deputy check sits on
    the topic instead (state_machines.only_from_rule: EventBridge publishes only from its rule),
    and this key encrypts nothing but those topics.
    """
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowAlarmAndEventPublishingToEncryptedTopics",
            principals=[
                iam.ServicePrincipal("cloudwatch.amazonaws.com"),
                iam.ServicePrincipal("events.amazonaws.com"),
            ],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        )
    )


def notification_key(scope: Construct, construct_id: str) -> kms.Key:
    """A small rotated key for SNS topics whose policy lets alarms and EventBridge publish.

    Stacks use it when the data key is imported (its policy cannot be extended from here).
    Messages are transient, so the key goes with the stack.
    """
    key = kms.Key(
        scope,
        construct_id,
        description="SageStack notifications: SNS topics of alarms and failed executions",
        enable_key_rotation=True,
        removal_policy=RemovalPolicy.DESTROY,
        pending_window=Duration.days(7),
    )
    allow_publishing_to_encrypted_topics(key)
    return key


def notification_topic(scope: Construct, construct_id: str, key: kms.IKey) -> sns.Topic:
    """A KMS-encrypted, TLS-only SNS topic (subscribe operators to it after deploy)."""
    return sns.Topic(scope, construct_id, master_key=key, enforce_ssl=True)
