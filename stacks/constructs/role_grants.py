"""IAM statements and nag evidence shared by the SageMaker job roles and the workbench roles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from stacks.nag import acknowledge_nist_hipaa, acknowledge_wildcards


def allow(
    target: iam.IRole | iam.ManagedPolicy,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Adds one Allow statement to a role's principal policy, or to a managed policy."""
    statement = iam.PolicyStatement(
        actions=list(actions),
        resources=list(resources),
        conditions=dict(conditions) if conditions else None,
    )
    if isinstance(target, iam.ManagedPolicy):
        target.add_statements(statement)
    else:
        target.add_to_principal_policy(statement)


GRANT_EVIDENCE: tuple[tuple[str, str], ...] = (
    (
        r"Action::s3:(GetObject|GetBucket|List|DeleteObject|Abort)\*",
        "CDK bucket grant_* action groups; the same statements name only this stage's data or "
        "artifacts bucket and its objects (or one key prefix) as resources.",
    ),
    (
        r"Action::kms:(GenerateDataKey|ReEncrypt)\*",
        "CDK key grant action groups (grant_* on the KMS-encrypted buckets and the key); the "
        "resource is this stage's data key ARN only.",
    ),
    (
        r"Resource::sagestack-[a-z0-9]+-(data|artifacts)-bucket-arn/([a-z-]+/)*\*",
        "Objects of this stage's bucket, or of one writer's key prefix (training/, "
        "training/sdk/..., data-capture/, batch-transform/): object keys are data chosen at "
        "run time.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
        r"/aws/sagemaker/[A-Za-z]+(/\*)?(:log-stream:\*)?",
        "SageMaker names log groups per endpoint (/aws/sagemaker/Endpoints/<name>) and log "
        "streams per job and instance at run time; the ARN is fixed up to those names.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/\*",
        "SageMaker creates the job's network interfaces at run time, so their ids are unknown; "
        "CreateNetworkInterface is also limited to this VPC's subnets and security group.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        r"(training-job|model|model-package|endpoint-config|endpoint|transform-job)/\*",
        "Job, model and endpoint names are generated at run time (never hard-coded, so updates "
        "replace them); the ARN is fixed to this account, region and resource type.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
        r"model-package/sagestack-[a-z0-9]+/\*",
        "Versions of this environment's model package group (named in "
        "stacks/constructs/naming.py); version numbers are assigned by SageMaker at run time.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
        r"execution:sagestack-[a-z0-9]+-(training|batch-transform):\*",
        "Executions of this environment's state machines (names fixed in "
        "stacks/constructs/naming.py); execution names are chosen at run time by the SDK.",
    ),
    (
        r"Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:"
        r"parameter/sagestack/[a-z0-9]+/\*",
        "The SDK reads this environment's published values, all under /sagestack/<environment>/.",
    ),
)
"""Why each wildcard the grants in this module produce is as narrow as IAM allows."""


def acknowledge_role_policy(role: iam.Role, extra_evidence: Sequence[tuple[str, str]] = ()) -> None:
    """Acknowledges the findings on `role`'s DefaultPolicy; call after its last grant."""
    policy = role.node.find_child("DefaultPolicy")
    assert isinstance(policy, iam.Policy)
    inline = (
        "CDK grant_* statements scoped to this stage's buckets, key, roles and SageMaker "
        "resource types; the AWS::IAM::Policy is attached to this one role and created and "
        "deleted with it, so a managed policy would add a second lifecycle and no reuse."
    )
    acknowledge_nist_hipaa(policy, "IAMNoInlinePolicy", inline)
    document = Stack.of(role).resolve(policy.document.to_json())
    acknowledge_wildcards(policy, document, (*GRANT_EVIDENCE, *extra_evidence))


def sagemaker_arn(stack: Stack, resource_type: str) -> str:
    # Job, model and endpoint names are generated at run time (never hard-coded), so the
    # narrowest ARN is the resource type in this account and region.
    return stack.format_arn(service="sagemaker", resource=resource_type, resource_name="*")


def log_group_arn(stack: Stack, group: str, *, streams: bool) -> str:
    name = f"/aws/sagemaker/{group}" + (":log-stream:*" if streams else "")
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def grant_logs(role: iam.IRole, group: str) -> None:
    """Lets a job write its own log group /aws/sagemaker/<group> and its streams."""
    stack = Stack.of(role)
    allow(
        role,
        [
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
        ],
        [
            log_group_arn(stack, group, streams=False),
            log_group_arn(stack, group, streams=True),
        ],
    )


READ_OBJECTS = ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging")
READ_BUCKET = ("s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketLocation")
WRITE_OBJECTS = (
    "s3:PutObject",
    "s3:PutObjectTagging",
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
)
"""s3:DeleteObject on a versioned bucket only adds a delete marker; the version stays."""


def via_service(stack: Stack, *services: str) -> dict[str, dict[str, list[str]]]:
    """kms:ViaService: the key is used only by these services on the role's behalf (for S3,
    SSE-KMS on this environment's buckets), never by a direct kms:Decrypt with the role's
    credentials."""
    return {
        "StringEquals": {
            "kms:ViaService": [
                f"{service}.{stack.region}.{stack.url_suffix}" for service in services
            ]
        }
    }


def grant_bucket_objects(
    role: iam.IRole,
    bucket: s3.IBucket,
    key: kms.IKey,
    *,
    read: bool = False,
    write: bool = False,
    key_prefixes: Sequence[str] = ("",),
) -> None:
    """Object access to `bucket` under `key_prefixes`, and the data key through S3 only.

    Explicit actions instead of CDK's grant_read/grant_write, whose action groups include
    s3:DeleteObject* (so DeleteObjectVersion) and whose key grant has no kms:ViaService.
    """
    stack = Stack.of(role)
    objects = [bucket.arn_for_objects(f"{prefix}*") for prefix in key_prefixes]
    key_actions: list[str] = []
    if read:
        allow(role, READ_OBJECTS, objects)
        allow(role, READ_BUCKET, [bucket.bucket_arn])
        key_actions += ["kms:Decrypt"]
    if write:
        allow(role, WRITE_OBJECTS, objects)
        key_actions += ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"]
    allow(role, sorted(set(key_actions)), [key.key_arn], via_service(stack, "s3"))


def grant_volume_key(role: iam.IRole, key: kms.IKey) -> None:
    # SageMaker encrypts job and instance volumes with the CMK through grants it creates on the
    # role's behalf; GrantIsForAWSResource keeps the role from creating grants for itself.
    key.grant(role, "kms:DescribeKey")
    allow(
        role,
        ["kms:CreateGrant"],
        [key.key_arn],
        conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    )


def grant_vpc_interfaces(
    role: iam.IRole,
    vpc: ec2.IVpc,
    subnets: Sequence[ec2.ISubnet],
    security_group: ec2.ISecurityGroup,
) -> None:
    """The network-interface calls SageMaker makes with the role to run in our subnets."""
    stack = Stack.of(role)
    any_interface = stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
    allow(
        role,
        [
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeVpcs",
            "ec2:DescribeDhcpOptions",
            "ec2:DescribeSubnets",
            "ec2:DescribeSecurityGroups",
        ],
        ["*"],
    )
    allow(
        role,
        ["ec2:CreateNetworkInterface"],
        [
            *(
                stack.format_arn(service="ec2", resource="subnet", resource_name=s.subnet_id)
                for s in subnets
            ),
            stack.format_arn(
                service="ec2",
                resource="security-group",
                resource_name=security_group.security_group_id,
            ),
            any_interface,
        ],
    )
    allow(
        role,
        [
            "ec2:CreateNetworkInterfacePermission",
            "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission",
        ],
        [any_interface],
        # Only interfaces in this VPC (the condition the SageMaker developer guide shows for
        # these actions), not any interface of the account.
        {
            "ArnEquals": {
                "ec2:Vpc": stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)
            }
        },
    )


def grant_job_runtime(
    role: iam.IRole,
    *,
    key: kms.IKey,
    vpc: ec2.IVpc,
    subnets: Sequence[ec2.ISubnet],
    security_group: ec2.ISecurityGroup,
    repository_arn: str,
    log_group_pattern: str,
) -> None:
    """What every SageMaker job container needs: image pull, logs, metrics, VPC, volume key."""
    allow(
        role,
        [
            "ecr:BatchCheckLayerAvailability",
            "ecr:BatchGetImage",
            "ecr:GetDownloadUrlForLayer",
        ],
        [repository_arn],
    )
    allow(role, ["ecr:GetAuthorizationToken"], ["*"])
    allow(
        role,
        ["cloudwatch:PutMetricData"],
        ["*"],
        conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
    )
    grant_logs(role, log_group_pattern)
    grant_vpc_interfaces(role, vpc, subnets, security_group)
    # SageMaker encrypts the job's output and data capture with SSE-KMS through S3; its own
    # use of the key on the job's behalf goes through the sagemaker service.
    allow(
        role,
        ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
        [key.key_arn],
        via_service(Stack.of(role), "s3", "sagemaker"),
    )
    grant_volume_key(role, key)
