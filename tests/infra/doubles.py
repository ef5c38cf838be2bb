"""Test doubles for the construct tests: each ML construct in a bare Stack beside doubles of
the foundation (key, buckets, VPC, roles), synthesized with the three cdk-nag packs as
validation plugins. The `synthesized` fixture in conftest.py builds this once per session.

Imported only after conftest.py has put the pinned Node on PATH (aws_cdk starts Node).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, App, Environment, RemovalPolicy, Stack, Validations
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NIST80053R5Checks

from stacks.constructs.serving.construct import ServingEndpoint
from stacks.constructs.serving.props import (
    EndpointProps,
    TrafficShifting,
    VariantKind,
)
from stacks.constructs.training.construct import TrainingJob
from stacks.constructs.training.props import (
    HyperparameterRange,
    MetricDirection,
    S3Distribution,
    TrainingJobProps,
    TrainingMode,
    TuningProps,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONSTRUCT_STACK_IDS = ("TrainingScript", "TrainingTuned", "Serving", "ServingServerless")
"""The stacks that hold the constructs under test (the foundation doubles are not listed)."""
EU = Environment(account="123456789012", region="eu-west-1")
MODEL_PACKAGE_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:model-package/sagestack-models/3"

# The foundation's own tests check its stacks; here they are doubles, so their findings are
# acknowledged wholesale on the double's stack.
_DOUBLE_FINDINGS = [
    "AwsSolutions-VPC7",
    "AwsSolutions-S1",
    "AwsSolutions-S10",
    "AwsSolutions-IAM4",
    *(
        f"{pack}-{rule}"
        for pack in ("NIST.800.53.R5", "HIPAA.Security")
        for rule in (
            "VPCDefaultSecurityGroupClosed",
            "VPCFlowLogsEnabled",
            "S3BucketLoggingEnabled",
            "S3BucketPublicReadProhibited",
            "S3BucketPublicWriteProhibited",
            "S3BucketReplicationEnabled",
            "S3BucketSSLRequestsOnly",
            "S3BucketVersioningEnabled",
            "IAMNoInlinePolicy",
        )
    ),
]


@dataclass
class Foundation:
    stack: Stack
    key: kms.Key
    data_bucket: s3.Bucket
    artifacts_bucket: s3.Bucket
    vpc: ec2.Vpc
    security_group: ec2.SecurityGroup
    training_role: iam.Role
    model_role: iam.Role


def _foundation(app: App, stack_id: str, env: Environment | None) -> Foundation:
    stack = Stack(app, stack_id, env=env)
    key = kms.Key(stack, "Key", enable_key_rotation=True, removal_policy=RemovalPolicy.DESTROY)

    def bucket(construct_id: str) -> s3.Bucket:
        return s3.Bucket(
            stack,
            construct_id,
            encryption_key=key,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            removal_policy=RemovalPolicy.DESTROY,
        )

    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    sg = ec2.SecurityGroup(stack, "JobsSecurityGroup", vpc=vpc, allow_all_outbound=False)
    principal = iam.ServicePrincipal("sagemaker.amazonaws.com")
    for finding in _DOUBLE_FINDINGS:
        Validations.of(stack).acknowledge(
            Acknowledgment(id=finding, reason="Test double of the foundation's stacks.")
        )
    return Foundation(
        stack=stack,
        key=key,
        data_bucket=bucket("DataBucket"),
        artifacts_bucket=bucket("ArtifactsBucket"),
        vpc=vpc,
        security_group=sg,
        training_role=iam.Role(stack, "TrainingRole", assumed_by=principal),
        model_role=iam.Role(stack, "ModelRole", assumed_by=principal),
    )


def _training_props(f: Foundation, **overrides: Any) -> TrainingJobProps:
    values: dict[str, Any] = dict(
        data_bucket=f.data_bucket,
        artifacts_bucket=f.artifacts_bucket,
        encryption_key=f.key,
        training_role=f.training_role,
        subnets=f.vpc.isolated_subnets,
        security_groups=[f.security_group],
        model_package_group_name="sagestack-models",
        quality_gate_threshold=0.75,
        source_dir=FIXTURES / "training",
        hyperparameters={"num_round": "100", "objective": "binary:logistic", "eval_metric": "auc"},
    )
    values.update(overrides)
    return TrainingJobProps(**values)


def _endpoint_props(f: Foundation, **overrides: Any) -> EndpointProps:
    values: dict[str, Any] = dict(
        artifacts_bucket=f.artifacts_bucket,
        data_bucket=f.data_bucket,
        encryption_key=f.key,
        model_role=f.model_role,
        subnets=f.vpc.isolated_subnets,
        security_groups=[f.security_group],
        source_dir=FIXTURES / "inference",
    )
    values.update(overrides)
    return EndpointProps(**values)


@dataclass
class Synthesized:
    app: App
    constructs: dict[str, Any]
    templates: dict[str, dict[str, Any]]
    template_files: dict[str, Path]

    def template(self, stack_id: str) -> Template:
        return Template.from_json(self.templates[stack_id])


def synthesize_doubles(outdir: Path) -> Synthesized:
    """The four construct stacks (and the two foundation doubles), synthesized into `outdir`."""
    app = App(outdir=str(outdir))
    eu = _foundation(app, "FoundationEu", EU)
    agnostic = _foundation(app, "FoundationAgnostic", None)

    constructs: dict[str, Any] = {}
    script = Stack(app, "TrainingScript", env=EU)
    constructs["TrainingScript"] = TrainingJob(
        script,
        "Training",
        props=_training_props(
            eu,
            instance_count=2,
            train_distribution=S3Distribution.SHARDED_BY_S3_KEY,
            schedule="rate(7 days)",
            trigger_on_new_data=True,
            new_data_key_suffix="_SUCCESS",
            serving_code_dir=FIXTURES / "inference",
        ),
    )
    tuned = Stack(app, "TrainingTuned")
    constructs["TrainingTuned"] = TrainingJob(
        tuned,
        "Training",
        props=_training_props(
            agnostic,
            mode=TrainingMode.ALGORITHM,
            source_dir=None,
            hyperparameters={"num_round": "100", "objective": "reg:squarederror"},
            eval_metric="rmse",
            quality_gate_threshold=2.5,
            quality_gate_direction=MetricDirection.MINIMIZE,
            use_spot_instances=False,
            model_package_group_name="sagestack-regression",
            tuning=TuningProps(
                ranges=[
                    HyperparameterRange(name="eta", min_value=0.01, max_value=0.3),
                    HyperparameterRange(name="max_depth", min_value=3, max_value=10, integer=True),
                ],
                max_training_jobs=6,
                max_parallel_training_jobs=2,
            ),
        ),
    )
    serving = Stack(app, "Serving", env=EU)
    constructs["Serving"] = ServingEndpoint(
        serving,
        "Endpoint",
        props=_endpoint_props(eu, model_package_arn=MODEL_PACKAGE_ARN, max_instance_count=4),
    )
    serverless = Stack(app, "ServingServerless")
    constructs["ServingServerless"] = ServingEndpoint(
        serverless,
        "Endpoint",
        props=_endpoint_props(
            agnostic,
            model_data_url="s3://example-artifacts/models/job-1/output/model.tar.gz",
            variant=VariantKind.SERVERLESS,
            traffic_shifting=TrafficShifting.LINEAR,
        ),
    )

    # Violations make synth raise: a passing fixture means every finding was acknowledged.
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), NIST80053R5Checks(app), HIPAASecurityChecks(app)
    )
    assembly = app.synth()
    templates, files = {}, {}
    for stack_id in (*CONSTRUCT_STACK_IDS, "FoundationEu", "FoundationAgnostic"):
        artifact = assembly.get_stack_by_name(stack_id)
        templates[stack_id] = artifact.template
        files[stack_id] = Path(artifact.template_full_path)
    return Synthesized(app=app, constructs=constructs, templates=templates, template_files=files)
