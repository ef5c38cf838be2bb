"""One IAM role per SageMaker job kind, each granted only what that kind of job touches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagestack.contract import prefixes
from stacks.constructs.sagemaker_images import xgboost_repository_arn
from stacks.nag import acknowledge, acknowledge_wildcards

SAGEMAKER = "sagemaker.amazonaws.com"
# The managed EventBridge rule Step Functions uses for the .sync CreateTrainingJob integration.
SYNC_TRAINING_RULE = "StepFunctionsGetEventsForSageMakerTrainingJobsRule"


@dataclass(frozen=True, kw_only=True)
class JobRolesProps:
    environment: str
    """Scopes the SSM parameters the SDK may read (/sagestack/<environment>/...)."""
    data_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    key: kms.IKey
    subnets: Sequence[ec2.ISubnet]
    """Subnets SageMaker may place job network interfaces in."""
    security_group: ec2.ISecurityGroup
    """The security group those interfaces get."""


class JobRoles(Construct):
    """Execution roles: training jobs, models/endpoints/transforms, the notebook, Step Functions.

    Other stacks take these roles as `iam.IRole`. A stack that adds statements to one of them
    (e.g. a state machine) writes into this stack's DefaultPolicy: keep such statements free of
    the consumer's own resource references, or attach an `iam.Policy` in the consumer, or the two
    stacks depend on each other.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: JobRolesProps) -> None:
        super().__init__(scope, construct_id)

        self.training_role = iam.Role(
            self,
            "TrainingRole",
            assumed_by=iam.ServicePrincipal(SAGEMAKER),
            description="SageMaker training jobs: read data, write training/ artifacts",
        )
        props.data_bucket.grant_read(self.training_role)
        props.artifacts_bucket.grant_read(self.training_role)
        props.artifacts_bucket.grant_write(self.training_role, f"{prefixes.TRAINING}*")
        _grant_job_runtime(
            self.training_role,
            props,
            repository_arn=xgboost_repository_arn(self, "training"),
            log_group_pattern="TrainingJobs",
        )

        self.model_role = iam.Role(
            self,
            "ModelRole",
            assumed_by=iam.ServicePrincipal(SAGEMAKER),
            description="SageMaker models, endpoints and batch transforms",
        )
        props.artifacts_bucket.grant_read(self.model_role)
        props.artifacts_bucket.grant_put(self.model_role, f"{prefixes.DATA_CAPTURE}*")
        props.artifacts_bucket.grant_put(self.model_role, f"{prefixes.BATCH_TRANSFORM}*")
        props.data_bucket.grant_read(self.model_role)  # batch transform input
        _grant_job_runtime(
            self.model_role,
            props,
            repository_arn=xgboost_repository_arn(self, "inference"),
            log_group_pattern="Endpoints/*",
        )
        _grant_logs(self.model_role, "TransformJobs")

        self.notebook_role = iam.Role(
            self,
            "NotebookRole",
            assumed_by=iam.ServicePrincipal(SAGEMAKER),
            description="SageMaker notebook instance: the SDK's user (data, jobs, endpoints)",
        )
        grant_workbench(
            self.notebook_role,
            props=props,
            training_role=self.training_role,
            model_role=self.model_role,
        )
        _grant_vpc_interfaces(self.notebook_role, props)
        _grant_volume_key(self.notebook_role, props.key)
        _grant_logs(self.notebook_role, "NotebookInstances")

        self.orchestration_role = iam.Role(
            self,
            "OrchestrationRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Step Functions: start, watch and stop training jobs",
        )
        stack = Stack.of(self)
        self.orchestration_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=[_sagemaker_arn(stack, "training-job")],
            )
        )
        self.orchestration_role.add_to_principal_policy(_pass_role_statement([self.training_role]))
        self.orchestration_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(
                        service="events", resource="rule", resource_name=SYNC_TRAINING_RULE
                    )
                ],
            )
        )

        for role in (
            self.training_role,
            self.model_role,
            self.notebook_role,
            self.orchestration_role,
        ):
            acknowledge_role_policy(role)


def grant_workbench(
    role: iam.IRole, *, props: JobRolesProps, training_role: iam.IRole, model_role: iam.IRole
) -> None:
    """What a person using the SDK needs: data, jobs, models, endpoints, and the SDK's lookups.

    Shared by the notebook role and the EC2 dev box's instance role.
    """
    stack = Stack.of(role)
    props.data_bucket.grant_read_write(role)
    props.artifacts_bucket.grant_read_write(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:CreateModel",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteModel",
                "sagemaker:CreateEndpointConfig",
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:CreateEndpoint",
                "sagemaker:DescribeEndpoint",
                "sagemaker:UpdateEndpoint",
                "sagemaker:DeleteEndpoint",
                "sagemaker:InvokeEndpoint",
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
            ],
            resources=[
                _sagemaker_arn(stack, kind)
                for kind in (
                    "training-job",
                    "model",
                    "endpoint-config",
                    "endpoint",
                    "transform-job",
                )
            ],
        )
    )
    role.add_to_principal_policy(_pass_role_statement([training_role, model_role]))
    # The SDK's fit(ml.*) starts the Training stack's state machine and follows its execution;
    # that stack is deployed after this one, so its generated name can only be matched here.
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["states:StartExecution", "states:ListExecutions"],
            resources=[_states_arn(stack, "stateMachine")],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
            ],
            resources=[_states_arn(stack, "execution")],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sagemaker:DescribeModelPackage"],
            resources=[_sagemaker_arn(stack, "model-package")],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["sagemaker:ListTrainingJobs", "sagemaker:ListEndpoints"], resources=["*"]
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
            resources=[
                stack.format_arn(
                    service="ssm",
                    resource="parameter",
                    resource_name=f"sagestack/{props.environment}",
                ),
                stack.format_arn(
                    service="ssm",
                    resource="parameter",
                    resource_name=f"sagestack/{props.environment}/*",
                ),
            ],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
            resources=[
                _log_group_arn(stack, group, streams=True)
                for group in ("TrainingJobs", "Endpoints/*", "TransformJobs")
            ],
        )
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
    for pack in ("NIST.800.53.R5", "HIPAA.Security"):
        acknowledge(policy, f"{pack}-IAMNoInlinePolicy", inline)
    document = Stack.of(role).resolve(policy.document.to_json())
    acknowledge_wildcards(policy, document, (*GRANT_EVIDENCE, *extra_evidence))


def _sagemaker_arn(stack: Stack, resource_type: str) -> str:
    # Job, model and endpoint names are generated at run time (never hard-coded), so the
    # narrowest ARN is the resource type in this account and region.
    return stack.format_arn(service="sagemaker", resource=resource_type, resource_name="*")


def _states_arn(stack: Stack, resource_type: str) -> str:
    # Any state machine (or execution) of this account and region: the Training stack's
    # generated name is unknown here (see grant_workbench).
    return stack.format_arn(
        service="states",
        resource=resource_type,
        resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _log_group_arn(stack: Stack, group: str, *, streams: bool) -> str:
    name = f"/aws/sagemaker/{group}" + (":log-stream:*" if streams else "")
    return stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def _pass_role_statement(roles: Sequence[iam.IRole]) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=[role.role_arn for role in roles],
        conditions={"StringEquals": {"iam:PassedToService": SAGEMAKER}},
    )


def _grant_logs(role: iam.IRole, group: str) -> None:
    stack = Stack.of(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogStreams",
            ],
            resources=[
                _log_group_arn(stack, group, streams=False),
                _log_group_arn(stack, group, streams=True),
            ],
        )
    )


def _grant_volume_key(role: iam.IRole, key: kms.IKey) -> None:
    # SageMaker encrypts job and instance volumes with the CMK through grants it creates on the
    # role's behalf; GrantIsForAWSResource keeps the role from creating grants for itself.
    key.grant(role, "kms:DescribeKey")
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )


def _grant_vpc_interfaces(role: iam.IRole, props: JobRolesProps) -> None:
    """The network-interface calls SageMaker makes with the role to run in our subnets."""
    stack = Stack.of(role)
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeVpcs",
                "ec2:DescribeDhcpOptions",
                "ec2:DescribeSubnets",
                "ec2:DescribeSecurityGroups",
            ],
            resources=["*"],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                *(
                    stack.format_arn(service="ec2", resource="subnet", resource_name=s.subnet_id)
                    for s in props.subnets
                ),
                stack.format_arn(
                    service="ec2",
                    resource="security-group",
                    resource_name=props.security_group.security_group_id,
                ),
                stack.format_arn(service="ec2", resource="network-interface", resource_name="*"),
            ],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ec2:CreateNetworkInterfacePermission",
                "ec2:DeleteNetworkInterface",
                "ec2:DeleteNetworkInterfacePermission",
            ],
            resources=[
                stack.format_arn(service="ec2", resource="network-interface", resource_name="*")
            ],
        )
    )


def _grant_job_runtime(
    role: iam.IRole, props: JobRolesProps, *, repository_arn: str, log_group_pattern: str
) -> None:
    """What every SageMaker job container needs: image pull, logs, metrics, VPC, volume key."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=[
                "ecr:BatchCheckLayerAvailability",
                "ecr:BatchGetImage",
                "ecr:GetDownloadUrlForLayer",
            ],
            resources=[repository_arn],
        )
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
        )
    )
    _grant_logs(role, log_group_pattern)
    _grant_vpc_interfaces(role, props)
    props.key.grant_encrypt_decrypt(role)
    _grant_volume_key(role, props.key)
