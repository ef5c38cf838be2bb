"""One IAM role per SageMaker job kind, each granted only what that kind of job touches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from sagestack.contract import prefixes
from stacks.constructs.job_access import pass_role_statement
from stacks.constructs.role_grants import (
    acknowledge_role_policy,
    allow,
    grant_job_runtime,
    grant_logs,
    grant_volume_key,
    grant_vpc_interfaces,
    log_group_arn,
    sagemaker_arn,
    states_arn,
)
from stacks.constructs.sagemaker_images import xgboost_repository_arn

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

        self.training_role = self._sagemaker_role(
            "TrainingRole", "SageMaker training jobs: read data, write training/ artifacts"
        )
        props.data_bucket.grant_read(self.training_role)
        props.artifacts_bucket.grant_read(self.training_role)
        props.artifacts_bucket.grant_write(self.training_role, f"{prefixes.TRAINING}*")
        grant_job_runtime(
            self.training_role,
            key=props.key,
            subnets=props.subnets,
            security_group=props.security_group,
            repository_arn=xgboost_repository_arn(self, "training"),
            log_group_pattern="TrainingJobs",
        )

        self.model_role = self._sagemaker_role(
            "ModelRole", "SageMaker models, endpoints and batch transforms"
        )
        props.artifacts_bucket.grant_read(self.model_role)
        props.artifacts_bucket.grant_put(self.model_role, f"{prefixes.DATA_CAPTURE}*")
        props.artifacts_bucket.grant_put(self.model_role, f"{prefixes.BATCH_TRANSFORM}*")
        props.data_bucket.grant_read(self.model_role)  # batch transform input
        grant_job_runtime(
            self.model_role,
            key=props.key,
            subnets=props.subnets,
            security_group=props.security_group,
            repository_arn=xgboost_repository_arn(self, "inference"),
            log_group_pattern="Endpoints/*",
        )
        grant_logs(self.model_role, "TransformJobs")

        self.notebook_role = self._sagemaker_role(
            "NotebookRole", "SageMaker notebook instance: the SDK's user (data, jobs, endpoints)"
        )
        grant_workbench(
            self.notebook_role,
            props=props,
            training_role=self.training_role,
            model_role=self.model_role,
        )
        grant_vpc_interfaces(self.notebook_role, props.subnets, props.security_group)
        grant_volume_key(self.notebook_role, props.key)
        grant_logs(self.notebook_role, "NotebookInstances")

        self.orchestration_role = iam.Role(
            self,
            "OrchestrationRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Step Functions: start, watch and stop training jobs",
        )
        stack = Stack.of(self)
        allow(
            self.orchestration_role,
            [
                "sagemaker:CreateTrainingJob",
                "sagemaker:DescribeTrainingJob",
                "sagemaker:StopTrainingJob",
                "sagemaker:AddTags",
            ],
            [sagemaker_arn(stack, "training-job")],
        )
        self.orchestration_role.add_to_principal_policy(pass_role_statement([self.training_role]))
        allow(
            self.orchestration_role,
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            [stack.format_arn(service="events", resource="rule", resource_name=SYNC_TRAINING_RULE)],
        )

        for role in (
            self.training_role,
            self.model_role,
            self.notebook_role,
            self.orchestration_role,
        ):
            acknowledge_role_policy(role)

    def _sagemaker_role(self, construct_id: str, description: str) -> iam.Role:
        return iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal(SAGEMAKER),
            description=description,
        )


def grant_workbench(
    role: iam.IRole, *, props: JobRolesProps, training_role: iam.IRole, model_role: iam.IRole
) -> None:
    """What a person using the SDK needs: data, jobs, models, endpoints, and the SDK's lookups.

    Shared by the notebook role and the EC2 dev box's instance role.
    """
    stack = Stack.of(role)
    props.data_bucket.grant_read_write(role)
    props.artifacts_bucket.grant_read_write(role)
    allow(
        role,
        [
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
        [
            sagemaker_arn(stack, kind)
            for kind in ("training-job", "model", "endpoint-config", "endpoint", "transform-job")
        ],
    )
    role.add_to_principal_policy(pass_role_statement([training_role, model_role]))
    # The SDK's fit(ml.*) starts the Training stack's state machine and follows its execution;
    # that stack is deployed after this one, so its generated name can only be matched here.
    allow(
        role,
        ["states:StartExecution", "states:ListExecutions"],
        [states_arn(stack, "stateMachine")],
    )
    allow(
        role,
        ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"],
        [states_arn(stack, "execution")],
    )
    # The console's AWS mode and `sagestack approve` review model package versions.
    allow(
        role,
        ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
        [sagemaker_arn(stack, "model-package")],
    )
    allow(
        role,
        ["sagemaker:ListTrainingJobs", "sagemaker:ListEndpoints", "sagemaker:ListModelPackages"],
        ["*"],
    )
    parameters = f"sagestack/{props.environment}"
    allow(
        role,
        ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
        [
            stack.format_arn(service="ssm", resource="parameter", resource_name=name)
            for name in (parameters, f"{parameters}/*")
        ],
    )
    # DescribeLogStreams acts on the log group's ARN, GetLogEvents on the stream's (CloudWatch
    # Logs' Service Authorization Reference): both forms, for each group the SDK reads.
    allow(
        role,
        ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
        [
            log_group_arn(stack, group, streams=streams)
            for group in ("TrainingJobs", "Endpoints/*", "TransformJobs")
            for streams in (False, True)
        ],
    )
