"""Shared pieces of the ML constructs: naming, observed state machines, topics, key access."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import jsii
from aws_cdk import Aws, Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct, IValidation

from stacks.nag import acknowledge as nag_acknowledge
from stacks.nag import flatten_reference

# SageMaker job names: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$. Prefixes are lower case because
# SageMaker lower-cases names in ARNs, and the IAM policies match `<kind>/<prefix>-*`.
_PREFIX_RE = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
_S3_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")

SAGEMAKER_THROTTLING_ERRORS = [
    "ThrottlingException",
    "SageMaker.ThrottlingException",
    "SageMaker.AmazonSageMakerException",
]


def check(condition: bool, field: str, value: object, expected: str) -> None:
    """Raise a ValueError naming the field, the bad value and what was expected."""
    if not condition:
        raise ValueError(f"{field} must be {expected}, got {value!r}")


def check_name_prefix(field: str, value: str, max_length: int) -> None:
    check(
        bool(_PREFIX_RE.match(value)) and len(value) <= max_length,
        field,
        value,
        f"lower-case letters, digits and hyphens, at most {max_length} characters",
    )


def check_s3_prefix(field: str, value: str) -> None:
    check(
        bool(_S3_PREFIX_RE.match(value)) and not value.startswith("/") and value.endswith("/"),
        field,
        value,
        "an S3 key prefix such as 'train/' (no leading slash, trailing slash)",
    )


def check_directory(field: str, value: object) -> None:
    check(Path(str(value)).is_dir(), field, str(value), "an existing directory")


def check_vpc_placement(subnets: Sequence[object], security_groups: Sequence[object]) -> None:
    """SageMaker jobs, models and endpoints run in the VPC: both lists must be non-empty."""
    check(len(subnets) > 0, "subnets", list(subnets), "at least one subnet")
    check(
        len(security_groups) > 0,
        "security_groups",
        list(security_groups),
        "at least one security group",
    )


def execution_job_name(prefix: str) -> str:
    """An intrinsic giving ``<prefix>-<md5 of the execution ARN>`` (prefix + 33 characters).

    Unique per execution (execution ARNs are), stable across task retries (so a retried Create
    meets ResourceInUse instead of starting a second job), and made of characters SageMaker
    accepts whatever the execution name contains.
    """
    return f"States.Format('{prefix}-{{}}', States.Hash($$.Execution.Id, 'MD5'))"


def short_execution_job_name(prefix: str) -> str:
    """``<prefix>-<8 hex>``, for names limited to 32 characters (tuning jobs)."""
    return (
        f"States.Format('{prefix}-{{}}', "
        "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0))"
    )


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


def allow_publishing_to_encrypted_topics(key: kms.IKey) -> None:
    """Let CloudWatch alarms and EventBridge rules publish to SNS topics encrypted with ``key``.

    Without this statement in the key policy, alarm and rule deliveries to the topic fail
    silently. A no-op for imported keys.
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


def observed_state_machine(
    scope: Construct,
    *,
    definition: sfn.IChainable,
    key: kms.IKey,
    topic: sns.ITopic,
    timeout: Duration,
    log_retention: logs.RetentionDays,
    comment: str,
) -> sfn.StateMachine:
    """A standard state machine with KMS-encrypted ALL-level logs, X-Ray tracing, and every
    failed / timed-out / aborted execution published to ``topic``."""
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
        definition_body=sfn.DefinitionBody.from_chainable(definition),
        state_machine_type=sfn.StateMachineType.STANDARD,
        timeout=timeout,
        tracing_enabled=True,
        logs=sfn.LogOptions(
            destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=True
        ),
    )
    events.Rule(
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
    policy = state_machine.role.node.try_find_child("DefaultPolicy")
    acknowledge(
        policy or state_machine.role,
        {
            "AwsSolutions-IAM5[Resource::*]": (
                "Step Functions log delivery (logs:CreateLogDelivery, logs:GetLogDelivery, "
                "logs:UpdateLogDelivery, logs:DeleteLogDelivery, logs:ListLogDeliveries, "
                "logs:PutResourcePolicy, logs:DescribeResourcePolicies, "
                "logs:DescribeLogGroups) and X-Ray (xray:PutTraceSegments, "
                "xray:PutTelemetryRecords, xray:GetSamplingRules, xray:GetSamplingTargets) "
                "do not support resource-level permissions; the Service Authorization "
                "Reference lists no resource type for them."
            ),
        },
    )
    return state_machine


def acknowledge(scope: IConstruct, findings: dict[str, str]) -> None:
    """Acknowledge cdk-nag findings on exactly this construct, each with its evidence.

    Goes through the project's one acknowledgement helper (pack-qualified ids, so the finding is
    still listed under suppressedViolations in validation-report.json with this reason).
    """
    for finding_id, reason in findings.items():
        nag_acknowledge(scope, finding_id, reason)


def sagemaker_arn(kind: str, name: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:<kind>/<name>`` in the current stack."""
    return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:{kind}/{name}"


def sync_events_rule_arn(rule: str) -> str:
    """The managed EventBridge rule Step Functions creates to follow .sync SageMaker jobs."""
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{rule}"


def pass_role_statement(roles: Sequence[iam.IRole]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[role.role_arn for role in roles],
        conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    )


@jsii.implements(IValidation)
class _WildcardAcknowledger:
    """Acknowledges AwsSolutions-IAM5 resource findings once references are final.

    Finding IDs embed the resolved ARN, which for a bucket in another stack is only known
    after CDK turns the reference into an import; construct validations run after that step
    and before the validation plugins, so the IDs computed here match cdk-nag's exactly.
    """

    def __init__(self, policy: iam.ManagedPolicy, reasons_by_sid: dict[str, str]) -> None:
        self._policy = policy
        self._reasons = reasons_by_sid

    def validate(self) -> list[str]:
        cfn = self._policy.node.default_child
        document = Stack.of(self._policy).resolve(cfn.policy_document)  # type: ignore[union-attr]
        for statement in document.get("Statement", []):
            reason = self._reasons.get(statement.get("Sid", ""))
            if reason is None or statement.get("Effect") != "Allow":
                continue
            resources = statement.get("Resource", [])
            for resource in resources if isinstance(resources, list) else [resources]:
                flat = flatten_reference(resource)
                if "*" in flat:
                    acknowledge(self._policy, {f"AwsSolutions-IAM5[Resource::{flat}]": reason})
        return []


def acknowledge_wildcard_resources(
    policy: iam.ManagedPolicy, reasons_by_sid: dict[str, str]
) -> None:
    """Acknowledge the IAM5 wildcard-resource findings of the statements named by Sid."""
    policy.node.add_validation(_WildcardAcknowledger(policy, reasons_by_sid))


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
