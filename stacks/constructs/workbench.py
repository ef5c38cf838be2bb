"""What a person (the notebook's or the dev box's role) may do: the SDK's calls, and no way out.

Each SageMaker Create* a person may call carries the condition keys SageMaker evaluates for it
(Service Authorization Reference, "Actions, resources, and condition keys for Amazon SageMaker
AI"), set to exactly what the SDK sends (sagestack/sdk/backends/aws): this environment's subnets
and security group, network isolation, inter-container encryption, the data key for volumes
and output, and this environment's tag. A job with no VpcConfig, without isolation or with
another key is refused by IAM before it starts, so a script written to the artifacts bucket
cannot run with the training role's read of the data bucket and a route to the internet.
Changes, invocations and deletions are scoped to resources tagged with this environment, and
the tag itself cannot be changed or removed, so one environment cannot touch another's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import ArnFormat, Stack, Tags
from aws_cdk import aws_iam as iam

from sagestack.contract import prefixes
from sagestack.contract.tags import ENVIRONMENT_TAG
from stacks.constructs.bucket_policies import VPC_ONLY_TAG
from stacks.constructs.job_access import pass_role_statement
from stacks.constructs.naming import (
    BATCH_TRANSFORM,
    TRAINING,
    model_package_group_name,
    state_machine_name,
)
from stacks.constructs.role_grants import (
    GRANT_EVIDENCE,
    allow,
    grant_bucket_objects,
    log_group_arn,
    sagemaker_arn,
)
from stacks.nag import acknowledge_wildcards

if TYPE_CHECKING:
    from stacks.constructs.job_roles import JobRolesProps

TAGGING_ACTIONS = ("sagemaker:AddTags", "sagemaker:DeleteTags")
HUMAN_DENIED_S3 = (
    "s3:DeleteObjectVersion",
    "s3:PutBucketVersioning",
    "s3:PutLifecycleConfiguration",
)
"""Denied to a person outright: a replaced or deleted object stays recoverable as a version."""


def _in_vpc(subnet_ids: list[str], security_group_id: str) -> dict[str, dict[str, Any]]:
    # ForAllValues is true for a missing key, so Null: false requires the key to be present.
    return {
        "ForAllValues:StringEquals": {
            "sagemaker:VpcSubnets": subnet_ids,
            "sagemaker:VpcSecurityGroupIds": [security_group_id],
        },
        "Null": {"sagemaker:VpcSubnets": "false", "sagemaker:VpcSecurityGroupIds": "false"},
    }


def create_conditions(
    environment: str, subnet_ids: list[str], security_group_id: str, key_arn: str
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per Create* action, the conditions its request must meet (each key is one SageMaker
    documents for that action)."""
    tagged = {"StringEquals": {f"aws:RequestTag/{ENVIRONMENT_TAG}": environment}}
    in_vpc = _in_vpc(subnet_ids, security_group_id)
    isolated = {"Bool": {"sagemaker:NetworkIsolation": "true"}}
    both_keys = {
        "ArnEquals": {"sagemaker:VolumeKmsKey": key_arn, "sagemaker:OutputKmsKey": key_arn}
    }
    return {
        "sagemaker:CreateTrainingJob": {
            **in_vpc,
            **tagged,
            "Bool": {**isolated["Bool"], "sagemaker:InterContainerTrafficEncryption": "true"},
            **both_keys,
        },
        "sagemaker:CreateModel": {**in_vpc, **isolated, **tagged},
        # An endpoint config without a volume key (a serverless one) is refused: the SDK says so
        # before calling (sagestack/sdk/backends/aws/endpoints.py).
        "sagemaker:CreateEndpointConfig": {
            **tagged,
            "ArnEquals": {"sagemaker:VolumeKmsKey": key_arn},
        },
        "sagemaker:CreateEndpoint": tagged,
        "sagemaker:CreateTransformJob": {**tagged, **both_keys},
    }


CREATE_RESOURCE_TYPES = {
    "sagemaker:CreateTrainingJob": ("training-job",),
    "sagemaker:CreateModel": ("model",),
    "sagemaker:CreateEndpointConfig": ("endpoint-config",),
    "sagemaker:CreateEndpoint": ("endpoint", "endpoint-config"),
    "sagemaker:CreateTransformJob": ("transform-job", "model"),
}
"""The resource types each Create* authorizes (CreateEndpoint names its config too)."""

OWN_RESOURCE_ACTIONS = (
    "sagemaker:StopTrainingJob",
    "sagemaker:DeleteModel",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:DeleteEndpoint",
    "sagemaker:InvokeEndpoint",
    "sagemaker:StopTransformJob",
)
"""Changes and invocations: only on resources tagged with this environment."""

READ_ACTIONS = (
    "sagemaker:DescribeTrainingJob",
    "sagemaker:DescribeModel",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeTransformJob",
)

SAGEMAKER_TYPES = ("training-job", "model", "endpoint-config", "endpoint", "transform-job")


def tag_guard_statements(environment: str) -> list[iam.PolicyStatement]:
    """Denies that keep the environment tag what it is: no tagging of another environment's
    resources, no removal of the tag, no tag naming another environment."""
    resource_tag = f"aws:ResourceTag/{ENVIRONMENT_TAG}"
    return [
        iam.PolicyStatement(
            sid="NoTaggingOfOtherEnvironments",
            effect=iam.Effect.DENY,
            actions=list(TAGGING_ACTIONS),
            resources=["*"],
            conditions={
                "Null": {resource_tag: "false"},
                "StringNotEquals": {resource_tag: environment},
            },
        ),
        iam.PolicyStatement(
            sid="NoRemovalOfTheEnvironmentTag",
            effect=iam.Effect.DENY,
            actions=["sagemaker:DeleteTags"],
            resources=["*"],
            conditions={"ForAnyValue:StringEquals": {"aws:TagKeys": [ENVIRONMENT_TAG]}},
        ),
        iam.PolicyStatement(
            sid="NoTagNamingAnotherEnvironment",
            effect=iam.Effect.DENY,
            actions=["sagemaker:AddTags"],
            resources=["*"],
            conditions={
                "ForAnyValue:StringEquals": {"aws:TagKeys": [ENVIRONMENT_TAG]},
                "StringNotEquals": {f"aws:RequestTag/{ENVIRONMENT_TAG}": environment},
            },
        ),
    ]


def state_machine_arns(stack: Stack, environment: str) -> tuple[list[str], list[str]]:
    """This environment's state machines and their executions, by the names naming.py gives."""
    machines: list[str] = []
    executions: list[str] = []
    for kind in (TRAINING, BATCH_TRANSFORM):
        name = state_machine_name(environment, kind)
        for resource, resource_name, into in (
            ("stateMachine", name, machines),
            ("execution", f"{name}:*", executions),
        ):
            into.append(
                stack.format_arn(
                    service="states",
                    resource=resource,
                    resource_name=resource_name,
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            )
    return machines, executions


def grant_workbench(
    role: iam.Role, *, props: JobRolesProps, training_role: iam.IRole, model_role: iam.IRole
) -> None:
    """What a person using the SDK needs: data, jobs, models, endpoints, and the SDK's lookups.

    Shared by the notebook role and the EC2 dev box's instance role. `props` is the
    JobRolesProps of the stack the role's policy lives in.
    """
    stack = Stack.of(role)
    env = props.environment
    # The buckets refuse this role's requests unless they come from this VPC
    # (stacks/constructs/bucket_policies.py).
    Tags.of(role).add(VPC_ONLY_TAG, props.vpc.vpc_id)
    # Data: read and write (uploads, the console's train/ prefix). Artifacts: read everything,
    # write only the SDK's own prefixes; training/models/, which endpoints serve from, is
    # written by the training role alone. No object version is ever destroyed by a person.
    grant_bucket_objects(role, props.data_bucket, props.key, read=True, write=True)
    grant_bucket_objects(role, props.artifacts_bucket, props.key, read=True)
    grant_bucket_objects(
        role,
        props.artifacts_bucket,
        props.key,
        write=True,
        key_prefixes=(prefixes.SDK_CODE, prefixes.SDK_MODELS),
    )
    role.add_to_principal_policy(
        iam.PolicyStatement(
            sid="NoDestroyedVersions",
            effect=iam.Effect.DENY,
            actions=list(HUMAN_DENIED_S3),
            resources=[
                resource
                for bucket in (props.data_bucket, props.artifacts_bucket)
                for resource in (bucket.bucket_arn, bucket.arn_for_objects("*"))
            ],
        )
    )
    sagemaker_policy = iam.ManagedPolicy(
        role,
        "SageMakerPolicy",
        description="A person's SageMaker calls: conditioned creates, this environment's resources",
        roles=[role],
    )
    conditions = create_conditions(
        env,
        [subnet.subnet_id for subnet in props.subnets],
        props.security_group.security_group_id,
        props.key.key_arn,
    )
    for action, condition in conditions.items():
        allow(
            sagemaker_policy,
            [action],
            [sagemaker_arn(stack, kind) for kind in CREATE_RESOURCE_TYPES[action]],
            condition,
        )
    every_type = [sagemaker_arn(stack, kind) for kind in SAGEMAKER_TYPES]
    # Tags at creation (SageMaker authorizes AddTags for a Create* with Tags): this
    # environment's tag only.
    allow(
        sagemaker_policy,
        ["sagemaker:AddTags"],
        every_type,
        {"StringEquals": {f"aws:RequestTag/{ENVIRONMENT_TAG}": env}},
    )
    allow(
        sagemaker_policy,
        list(OWN_RESOURCE_ACTIONS),
        every_type,
        {"StringEquals": {f"aws:ResourceTag/{ENVIRONMENT_TAG}": env}},
    )
    allow(sagemaker_policy, list(READ_ACTIONS), every_type)
    for statement in tag_guard_statements(env):
        sagemaker_policy.add_statements(statement)
    acknowledge_wildcards(
        sagemaker_policy, stack.resolve(sagemaker_policy.document.to_json()), GRANT_EVIDENCE
    )
    role.add_to_principal_policy(pass_role_statement([training_role, model_role]))
    # fit(ml.*) starts this environment's training state machine and follows its execution;
    # the names are chosen in naming.py, so the ARNs are exact although those stacks deploy later.
    machines, executions = state_machine_arns(stack, env)
    allow(role, ["states:StartExecution", "states:ListExecutions"], machines)
    allow(
        role,
        ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"],
        executions,
    )
    # The console's AWS mode and `sagestack approve` review this environment's model package
    # versions (model-package/<group>/<version>), no other environment's.
    allow(
        role,
        ["sagemaker:DescribeModelPackage", "sagemaker:UpdateModelPackage"],
        [
            stack.format_arn(
                service="sagemaker",
                resource="model-package",
                resource_name=f"{model_package_group_name(env)}/*",
            )
        ],
    )
    allow(
        role,
        ["sagemaker:ListTrainingJobs", "sagemaker:ListEndpoints", "sagemaker:ListModelPackages"],
        ["*"],
    )
    parameters = f"sagestack/{env}"
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
