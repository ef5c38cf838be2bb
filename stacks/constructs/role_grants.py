"""IAM statements and nag evidence shared by the SageMaker job roles and the workbench roles."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms

from stacks.nag import acknowledge_nist_hipaa, acknowledge_wildcards


def allow(
    role: iam.IRole,
    actions: Sequence[str],
    resources: Sequence[str],
    conditions: dict[str, dict[str, str]] | None = None,
) -> None:
    """Adds one Allow statement to `role`'s principal policy."""
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=list(resources), conditions=conditions)
    )


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
        r"Resource::sagestack-[a-z0-9]+-(data|artifacts)-bucket-arn/([a-z-]+/)?\*",
        "Objects of this stage's bucket, or of one writer's key prefix (training/, "
        "data-capture/, batch-transform/): object keys are data chosen at run time.",
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
        r"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:"
        r"(stateMachine|execution):\*",
        "The SDK starts and follows runs of the Training stack's state machine, whose name "
        "CloudFormation generates in a stack deployed after this one; the ARN is fixed to this "
        "account, region and Step Functions.",
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


def states_arn(stack: Stack, resource_type: str) -> str:
    # Any state machine (or execution) of this account and region: the Training stack's
    # generated name is unknown here (see grant_workbench).
    return stack.format_arn(
        service="states",
        resource=resource_type,
        resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


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
    role: iam.IRole, subnets: Sequence[ec2.ISubnet], security_group: ec2.ISecurityGroup
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
    )


def grant_job_runtime(
    role: iam.IRole,
    *,
    key: kms.IKey,
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
    grant_vpc_interfaces(role, subnets, security_group)
    key.grant_encrypt_decrypt(role)
    grant_volume_key(role, key)
