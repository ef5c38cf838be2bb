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
from stacks.constructs.role_grants import (
    acknowledge_role_policy,
    grant_bucket_objects,
    grant_job_runtime,
    grant_logs,
    grant_volume_key,
    grant_vpc_interfaces,
)
from stacks.constructs.sagemaker_images import xgboost_repository_arn
from stacks.constructs.workbench import grant_workbench

SAGEMAKER = "sagemaker.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class JobRolesProps:
    environment: str
    """Scopes the SSM parameters the SDK may read (/sagestack/<environment>/...)."""
    data_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    key: kms.IKey
    vpc: ec2.IVpc
    """The VPC of those subnets: network-interface calls are limited to it (ec2:Vpc)."""
    subnets: Sequence[ec2.ISubnet]
    """Subnets SageMaker may place job network interfaces in."""
    security_group: ec2.ISecurityGroup
    """The security group those interfaces get."""


class JobRoles(Construct):
    """Execution roles: training jobs, models/endpoints/transforms, the notebook.

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
        _grant_job_buckets(self.training_role, props, (prefixes.TRAINING,))
        grant_job_runtime(
            self.training_role,
            key=props.key,
            vpc=props.vpc,
            subnets=props.subnets,
            security_group=props.security_group,
            repository_arn=xgboost_repository_arn(self, "training"),
            log_group_pattern="TrainingJobs",
        )

        self.model_role = self._sagemaker_role(
            "ModelRole", "SageMaker models, endpoints and batch transforms"
        )
        # Reads data as batch transform input.
        _grant_job_buckets(
            self.model_role, props, (prefixes.DATA_CAPTURE, prefixes.BATCH_TRANSFORM)
        )
        grant_job_runtime(
            self.model_role,
            key=props.key,
            vpc=props.vpc,
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
        grant_vpc_interfaces(self.notebook_role, props.vpc, props.subnets, props.security_group)
        grant_volume_key(self.notebook_role, props.key)
        grant_logs(self.notebook_role, "NotebookInstances")

        for role in (
            self.training_role,
            self.model_role,
            self.notebook_role,
        ):
            acknowledge_role_policy(role)

    def _sagemaker_role(self, construct_id: str, description: str) -> iam.Role:
        # Confused-deputy protection (SageMaker developer guide, "Cross-service confused deputy
        # prevention"): only SageMaker acting for this account may assume the role. No
        # aws:SourceArn: the jobs, models and notebook that assume it are named at run time, and
        # an ARN pattern of this account's SageMaker resources says no more than the account.
        return iam.Role(
            self,
            construct_id,
            assumed_by=iam.ServicePrincipal(SAGEMAKER).with_conditions(
                {"StringEquals": {"aws:SourceAccount": Stack.of(self).account}}
            ),
            description=description,
        )


def _grant_job_buckets(
    role: iam.IRole, props: JobRolesProps, write_prefixes: Sequence[str]
) -> None:
    """A job role reads both buckets and writes only its own prefixes of the artifacts bucket."""
    grant_bucket_objects(role, props.data_bucket, props.key, read=True)
    grant_bucket_objects(role, props.artifacts_bucket, props.key, read=True)
    grant_bucket_objects(
        role, props.artifacts_bucket, props.key, write=True, key_prefixes=write_prefixes
    )
