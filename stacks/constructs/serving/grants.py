"""What the model role may read and write for serving and batch transform, with the nag findings."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from stacks.constructs.job_access import data_key_statements
from stacks.constructs.serving.props import EndpointProps
from stacks.constructs.source_asset import SourceAsset
from stacks.nag import acknowledge_wildcard_resources


def grant_model_role(
    scope: Construct, p: EndpointProps, code: SourceAsset | None, model: sagemaker.CfnModel
) -> iam.ManagedPolicy | None:
    """A managed policy on the model role for artifacts, capture, batch data, key and code;
    None when there is nothing to grant."""
    artifacts = p.artifacts_bucket
    statements = (
        []
        if not p.grant_role_access
        else [
            iam.PolicyStatement(
                sid="ReadModelArtifacts",
                actions=["s3:GetObject"],
                resources=[artifacts.arn_for_objects(f"{p.model_artifacts_prefix}*")],
            ),
            iam.PolicyStatement(
                sid="WriteCaptureAndBatchOutput",
                actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                resources=[
                    artifacts.arn_for_objects(f"{p.data_capture_prefix}*"),
                    artifacts.arn_for_objects(f"{p.transform_output_prefix}*"),
                ],
            ),
            iam.PolicyStatement(
                sid="ReadBatchInput",
                actions=["s3:GetObject"],
                resources=[p.data_bucket.arn_for_objects(f"{p.transform_input_prefix}*")],
            ),
            iam.PolicyStatement(
                sid="ListBuckets",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[artifacts.bucket_arn, p.data_bucket.bucket_arn],
            ),
            *data_key_statements(p.encryption_key),
        ]
    )
    if code is not None:
        statements.append(code.read_statement("ReadInferenceCode"))
    if not statements:
        return None
    policy = iam.ManagedPolicy(
        scope,
        "ModelRoleAccess",
        description="S3 and KMS access of the serving model and its batch transform jobs",
        statements=statements,
        roles=[p.model_role],
    )
    acknowledge_wildcard_resources(
        policy,
        {
            "ReadModelArtifacts": (
                f"Training writes {p.model_artifacts_prefix}<job name>/output/model.tar.gz "
                "with job names "
                "generated per execution, and a new model package points at a new one; "
                "read-only, under this prefix."
            ),
            "WriteCaptureAndBatchOutput": (
                "SageMaker names data-capture objects by endpoint, variant and hour, and "
                "batch outputs by job; write-only, under these two prefixes."
            ),
            "ReadBatchInput": (
                "A transform job reads every object under its input prefix; read-only, "
                "under the batch input prefix of the data bucket."
            ),
        },
    )
    # The model is created with the role, so CreateModel's access checks see the policy.
    model.node.add_dependency(policy)
    return policy
