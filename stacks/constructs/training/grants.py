"""What the training state machine and training role may do, and the nag findings left."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.job_access import (
    data_key_statements,
    pass_role_statement,
    sync_rule_statement,
    volume_grant_statements,
)
from stacks.constructs.naming import sagemaker_arn
from stacks.constructs.source_asset import SourceAsset
from stacks.constructs.training.props import TrainingJobProps
from stacks.nag import acknowledge, acknowledge_nist_hipaa, acknowledge_wildcard_resources


def grant_state_machine(state_machine: sfn.StateMachine, p: TrainingJobProps) -> None:
    """Start, follow and stop this state machine's own jobs (by name prefix), pass the
    training role to them, and let SageMaker use the key on their behalf."""
    if p.tuning is None:
        kind, actions, rule = (
            "training-job",
            ["CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"],
            "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
        )
        name_pattern = f"{p.job_name_prefix}-*"
    else:
        kind, actions, rule = (
            "hyper-parameter-tuning-job",
            [
                "CreateHyperParameterTuningJob",
                "DescribeHyperParameterTuningJob",
                "StopHyperParameterTuningJob",
                "ListTrainingJobsForHyperParameterTuningJob",
            ],
            "StepFunctionsGetEventsForSageMakerTuningJobsRule",
        )
        name_pattern = f"{p.tuning.job_name_prefix}-*"
    job_arn = sagemaker_arn(kind, name_pattern)
    state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=[f"sagemaker:{a}" for a in actions]
            + ["sagemaker:AddTags", "sagemaker:ListTags"],
            resources=[job_arn],
        )
    )
    state_machine.add_to_role_policy(pass_role_statement([p.training_role]))
    state_machine.add_to_role_policy(sync_rule_statement(rule))
    for statement in volume_grant_statements(p.encryption_key):
        state_machine.add_to_role_policy(statement)
    policy = state_machine.role.node.find_child("DefaultPolicy")
    group = p.model_package_group_name
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
        f"<AWS::AccountId>:{kind}/{name_pattern}]",
        f"Job names are generated per execution as {name_pattern}; the statement "
        "is limited to this state machine's name prefix, not every job.",
    )
    acknowledge(
        policy,
        f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
        f"<AWS::AccountId>:model-package/{group}/*]",
        f"Model package versions are numbered by SageMaker inside group {group}; "
        "the statement covers only that group's versions.",
    )


def grant_training_role(
    scope: Construct, p: TrainingJobProps, code: SourceAsset | None
) -> iam.ManagedPolicy | None:
    """A managed policy on the training role for this job's data, artifacts, key and code;
    None when there is nothing to grant."""
    data = p.data_bucket
    artifacts = p.artifacts_bucket
    statements = (
        []
        if not p.grant_role_access
        else [
            iam.PolicyStatement(
                sid="ReadTrainingData",
                actions=["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                resources=[data.bucket_arn, data.arn_for_objects("*")],
            ),
            iam.PolicyStatement(
                sid="WriteModelArtifacts",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[artifacts.arn_for_objects(f"{p.output_prefix}*")],
            ),
            iam.PolicyStatement(
                sid="ReadWriteCheckpoints",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                ],
                resources=[artifacts.arn_for_objects(f"{p.checkpoint_prefix}*")],
            ),
            iam.PolicyStatement(
                sid="ListArtifacts",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[artifacts.bucket_arn],
            ),
            *data_key_statements(p.encryption_key),
        ]
    )
    if code is not None:
        statements.append(code.read_statement("ReadTrainingCode"))
        statements.append(
            iam.PolicyStatement(
                sid="ListTrainingCode",
                actions=["s3:ListBucket"],
                resources=[code.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{code.object_key}*"]}},
            )
        )
    if not statements:
        return None
    policy = iam.ManagedPolicy(
        scope,
        "TrainingRoleAccess",
        description="S3 and KMS access of the SageMaker training jobs this state machine runs",
        statements=statements,
        roles=[p.training_role],
    )
    acknowledge_wildcard_resources(
        policy,
        {
            "ReadTrainingData": (
                "Execution input may point the train and validation channels at any prefix "
                "of the data bucket, and SageMaker reads every object under a channel's "
                "S3Prefix; read-only, on this one bucket."
            ),
            "WriteModelArtifacts": (
                f"SageMaker writes <{p.output_prefix}><job name>/output/model.tar.gz with "
                "job names generated per execution; write-only, under this prefix."
            ),
            "ReadWriteCheckpoints": (
                f"Spot checkpoints are synced to <{p.checkpoint_prefix}><job name>/ with job "
                "names generated per execution; limited to this prefix."
            ),
        },
    )
    return policy


def acknowledge_inline_policies(state_machine: sfn.StateMachine) -> None:
    """The default policies of the roles CDK made for this state machine alone."""
    roles = [state_machine.role]
    events_role = state_machine.node.try_find_child("EventsRole")
    if isinstance(events_role, iam.Role):
        roles.append(events_role)
    for role in roles:
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is None:
            continue
        acknowledge_nist_hipaa(
            policy,
            "IAMNoInlinePolicy",
            "CDK's default policy of a role that this construct creates for this "
            "state machine alone (execution role / EventBridge start role); it is "
            "created, changed and deleted with that role and shared with nothing.",
        )
