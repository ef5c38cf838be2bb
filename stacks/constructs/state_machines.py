"""Step Functions state machines that log, trace and report every failed execution."""

from __future__ import annotations

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.notifications import allow_publishing_to_encrypted_topics
from stacks.nag import acknowledge

# Errors a SageMaker task retries with backoff: throttling and SageMaker's generic service error,
# both transient.
SAGEMAKER_THROTTLING_ERRORS = [
    "ThrottlingException",
    "SageMaker.ThrottlingException",
    "SageMaker.AmazonSageMakerException",
]


def allow_logs_and_topics(key: kms.IKey, notification_key: kms.IKey | None) -> kms.IKey:
    """Lets log groups use ``key`` and alarms and rules publish to topics under the topic key.

    Returns the topic key: ``notification_key``, or ``key`` when that is None.
    """
    allow_logs_to_use_key(key)
    topic_key = notification_key or key
    allow_publishing_to_encrypted_topics(topic_key)
    return topic_key


def allow_logs_to_use_key(key: kms.IKey) -> None:
    """Let CloudWatch Logs encrypt this account's log groups with ``key``.

    A no-op for imported keys, whose policy must already allow it (the foundation's data key
    does). Identical wherever it is added, so constructs sharing a key add it once.
    """
    key_stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{key_stack.region}.{key_stack.url_suffix}")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{key_stack.partition}:logs:{key_stack.region}:"
                        f"{key_stack.account}:log-group:*"
                    )
                }
            },
        )
    )


ONLY_FROM_RULE_SID = "EventBridgeOnlyFromItsRule"


def only_from_rule(topic: sns.ITopic, rule: events.Rule) -> None:
    """Confused-deputy protection for the topic's EventBridge publisher: CDK's SnsTopic target
    allows events.amazonaws.com to publish with no condition, so any rule, of any account, could
    publish here. This Deny lets through only ``rule`` (EventBridge sets aws:SourceArn to the
    rule's ARN; EventBridge user guide, "Amazon SNS permissions").

    One rule per topic: a second Deny for another rule would refuse the first one's messages.
    """
    if topic.node.try_find_child(ONLY_FROM_RULE_SID) is not None:
        raise ValueError(f"{topic.node.path}: one EventBridge rule per topic")
    assert isinstance(topic, Construct)
    Construct(topic, ONLY_FROM_RULE_SID)  # the marker of that check; it adds no resource
    topic.add_to_resource_policy(
        iam.PolicyStatement(
            sid=ONLY_FROM_RULE_SID,
            effect=iam.Effect.DENY,
            principals=[iam.ServicePrincipal("events.amazonaws.com")],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions={"ArnNotEquals": {"aws:SourceArn": rule.rule_arn}},
        )
    )


def observed_state_machine(
    scope: Construct,
    *,
    definition: sfn.IChainable,
    key: kms.IKey,
    topic: sns.ITopic,
    timeout: Duration,
    log_retention: logs.RetentionDays,
    comment: str,
    name: str | None = None,
) -> sfn.StateMachine:
    """A standard state machine with KMS-encrypted ALL-level logs, X-Ray tracing, and every
    failed / timed-out / aborted execution published to ``topic``.

    ``name``: a physical name, so that policies in stacks deployed before this one can name
    its ARN and its executions' ARNs exactly; None lets CloudFormation generate one.
    """
    log_group = logs.LogGroup(
        scope,
        "ExecutionLogs",
        # /aws/vendedlogs/ keeps Step Functions off the CloudWatch Logs resource-policy size
        # limit; the unique id keeps the name distinct per stack and construct.
        log_group_name=f"/aws/vendedlogs/states/{Names.unique_id(scope)}",
        encryption_key=key,
        retention=log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    state_machine = sfn.StateMachine(
        scope,
        "StateMachine",
        comment=comment,
        state_machine_name=name,
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
    )
    rule = events.Rule(
        scope,
        "ExecutionFailedRule",
        description="Publishes failed, timed-out and aborted executions to the topic.",
        event_pattern=events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                "stateMachineArn": [state_machine.state_machine_arn],
            },
        ),
        targets=[targets.SnsTopic(topic)],
    )
    only_from_rule(topic, rule)
    policy = state_machine.role.node.try_find_child("DefaultPolicy")
    acknowledge(
        policy or state_machine.role,
        "AwsSolutions-IAM5[Resource::*]",
        "Step Functions log delivery (logs:CreateLogDelivery, logs:GetLogDelivery, "
        "logs:UpdateLogDelivery, logs:DeleteLogDelivery, logs:ListLogDeliveries, "
        "logs:PutResourcePolicy, logs:DescribeResourcePolicies, "
        "logs:DescribeLogGroups) and X-Ray (xray:PutTraceSegments, "
        "xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets) "
        "do not support resource-level permissions; the Service Authorization "
        "Reference lists no resource type for them.",
    )
    return state_machine
