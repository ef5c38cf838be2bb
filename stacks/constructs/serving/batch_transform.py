"""Batch transform: a state machine that runs a transform job with the served model."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.image_uri import XGBOOST_VERSION
from stacks.constructs.job_access import sync_rule_statement, volume_grant_statements
from stacks.constructs.naming import execution_job_name, job_tags, sagemaker_arn
from stacks.constructs.serving.props import EndpointProps
from stacks.constructs.state_machines import SAGEMAKER_THROTTLING_ERRORS, observed_state_machine
from stacks.nag import acknowledge, acknowledge_nist_hipaa


def add_batch_transform(
    parent: Construct, p: EndpointProps, model: sagemaker.CfnModel, topic: sns.ITopic
) -> sfn.StateMachine:
    """A state machine that runs one CreateTransformJob (.sync) with ``model`` per execution.

    Everything sits under a ``BatchTransform`` child, so its state names and logs stay apart
    from the endpoint's resources.
    """
    scope = Construct(parent, "BatchTransform")
    artifacts = p.artifacts_bucket.bucket_name
    apply_defaults = sfn.Pass(
        scope,
        "ApplyDefaults",
        comment="Defaults from config; the execution input overrides any of these keys.",
        parameters={
            "input.$": "$",
            "defaults": {
                "input_s3_uri": f"s3://{p.data_bucket.bucket_name}/{p.transform_input_prefix}",
                "instance_type": p.transform_instance_type,
                "instance_count": p.transform_instance_count,
            },
        },
    )
    resolve = sfn.Pass(
        scope,
        "ResolveInput",
        parameters={
            "job_name.$": execution_job_name(p.transform_job_name_prefix),
            "request.$": "States.JsonMerge($.defaults, $.input, false)",
        },
    )
    output_prefix = p.transform_output_prefix
    transform = sfn.CustomState(
        scope,
        "Transform",
        state_json={
            "Type": "Task",
            "Comment": "CreateTransformJob and wait for it (.sync).",
            "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:createTransformJob.sync",
            "Parameters": {
                "TransformJobName.$": "$.job_name",
                "ModelName": model.attr_model_name,
                "BatchStrategy": "MultiRecord",
                "MaxPayloadInMB": p.transform_max_payload_mib,
                "MaxConcurrentTransforms": p.transform_max_concurrent,
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri.$": "$.request.input_s3_uri",
                        }
                    },
                    "ContentType": "text/csv",
                    "SplitType": "Line",
                    "CompressionType": "None",
                },
                "TransformOutput": {
                    "S3OutputPath.$": (
                        f"States.Format('s3://{artifacts}/{output_prefix}{{}}/', $.job_name)"
                    ),
                    "Accept": "text/csv",
                    "AssembleWith": "Line",
                    "KmsKeyId": p.encryption_key.key_arn,
                },
                "TransformResources": {
                    "InstanceType.$": "$.request.instance_type",
                    "InstanceCount.$": "$.request.instance_count",
                    "VolumeKmsKeyId": p.encryption_key.key_arn,
                },
                "Tags": job_tags(p.environment_tag),
            },
            "ResultSelector": {
                "transform_job_name.$": "$.TransformJobName",
                "status.$": "$.TransformJobStatus",
                "output_s3_uri.$": "$.TransformOutput.S3OutputPath",
            },
        },
    )
    transform.add_retry(
        errors=SAGEMAKER_THROTTLING_ERRORS,
        interval=Duration.seconds(10),
        backoff_rate=2,
        max_attempts=5,
        jitter_strategy=sfn.JitterType.FULL,
    )
    state_machine = observed_state_machine(
        scope,
        definition=apply_defaults.next(resolve).next(transform),
        key=p.encryption_key,
        topic=topic,
        timeout=Duration.hours(24),
        log_retention=p.log_retention,
        name=p.transform_state_machine_name,
        comment=(
            f"Batch transform (SplitType Line, MultiRecord) with XGBoost {XGBOOST_VERSION} "
            "and this construct's model."
        ),
    )
    prefix = f"{p.transform_job_name_prefix}-*"
    state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=[
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
                "sagemaker:AddTags",
                "sagemaker:ListTags",
            ],
            resources=[sagemaker_arn("transform-job", prefix)],
        )
    )
    state_machine.add_to_role_policy(
        sync_rule_statement("StepFunctionsGetEventsForSageMakerTransformJobsRule")
    )
    for statement in volume_grant_statements(p.encryption_key):
        state_machine.add_to_role_policy(statement)
    policy = state_machine.role.node.find_child("DefaultPolicy")
    acknowledge_nist_hipaa(
        policy,
        "IAMNoInlinePolicy",
        "CDK's default policy of the execution role this construct creates for "
        "the transform state machine alone; created, changed and deleted with "
        "that role and shared with nothing.",
    )
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
        f"<AWS::AccountId>:transform-job/{prefix}]",
        f"Transform job names are generated per execution as {prefix}; the "
        "statement is limited to this state machine's name prefix.",
    )
    return state_machine
