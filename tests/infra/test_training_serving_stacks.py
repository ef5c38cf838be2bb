"""Training and Serving stacks composed from the foundation's real Data, Network and Iam stacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stage

from stacks.build import create_app, read_cdk_json_context
from stacks.constructs.serving.props import ServingSettings, VariantKind
from stacks.constructs.training.props import TrainingSettings
from stacks.data_stack import DataStack, DataStackProps
from stacks.foundation import Foundation
from stacks.iam_stack import IamStack, IamStackProps
from stacks.nag import add_nag_packs
from stacks.network_stack import NetworkStack, NetworkStackProps
from stacks.serving_stack import ServingStack, ServingStackProps
from stacks.training_stack import TrainingStack, TrainingStackProps

from .doubles import FIXTURES
from .templates import definition_of, resources_of

ENV = "mltest"


@pytest.fixture(scope="module")
def stage_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    # cdk.json's feature flags, as app.py gets them (the foundation's buckets depend on them).
    app = create_app(
        context=read_cdk_json_context(), outdir=str(tmp_path_factory.mktemp("stage.out"))
    )
    stage = Stage(app, f"SageStack-{ENV}")
    data = DataStack(
        stage, "Data", props=DataStackProps(environment=ENV, noncurrent_version_expiration_days=7)
    )
    network = NetworkStack(
        stage,
        "Network",
        props=NetworkStackProps(
            environment=ENV,
            vpc_cidr="10.40.0.0/16",
            max_azs=2,
            availability_zones=(),
            log_retention_days=7,
            session_manager_endpoints=False,
        ),
        data=data,
    )
    iam = IamStack(stage, "Iam", props=IamStackProps(environment=ENV), data=data, network=network)
    foundation = Foundation(data=data, network=network, roles=iam)
    TrainingStack(
        stage,
        "Training",
        props=TrainingStackProps(
            environment=ENV,
            training=TrainingSettings(
                instance_type="ml.m5.large", instance_count=1, quality_gate_threshold=0.7
            ),
            source_dir=FIXTURES / "training",
            log_retention_days=7,
        ),
        foundation=foundation,
    )
    ServingStack(
        stage,
        "Serving",
        props=ServingStackProps(
            environment=ENV,
            serving=ServingSettings(
                model_data_url="s3://{artifacts_bucket}/training/models/example/output/model.tar.gz",
                variant=VariantKind.INSTANCE,
                network_isolation=False,
            ),
            source_dir=FIXTURES / "inference",
            log_retention_days=7,
        ),
        foundation=foundation,
    )
    add_nag_packs(stage)  # the foundation's stage-scoped packs: violations raise in synth
    assembly = app.synth().get_nested_assembly(f"assembly-SageStack-{ENV}")
    return {stack.stack_name.rsplit("-", 1)[-1]: stack.template for stack in assembly.stacks}


def test_training_uses_the_foundation_role_prefixes_and_code_asset(stage_templates) -> None:
    template = stage_templates["Training"]
    params = definition_of(template)["States"]["TrainModel"]["Parameters"]
    assert params["RoleArn"].startswith("${Import:SageStack-mltest-Iam:ExportsOutputFnGetAtt")
    assert "TrainingRole" in params["RoleArn"]
    assert params["OutputDataConfig"]["S3OutputPath"].endswith("/training/models")
    assert params["OutputDataConfig"]["KmsKeyId"] == "${Import:sagestack-mltest-data-key-arn}"
    states = definition_of(template)["States"]
    assert (
        "/training/checkpoints/{}/'"
        in states["ResolveHyperparameters"]["Parameters"]["checkpoint_s3_uri.$"]
    )
    # The script prints the gated metric, so the regexes come from training/metrics.py.
    fixed = states["ApplyDefaults"]["Parameters"]
    assert fixed["defaults"]["hyperparameters"]["eval_metric"] == "auc"
    names = [d["Name"] for d in params["AlgorithmSpecification"]["MetricDefinitions"]]
    assert names == ["train:auc", "validation:auc"]
    # Only the code asset is granted to the foundation's role; it already has the rest.
    [policy] = resources_of(template, "AWS::IAM::ManagedPolicy").values()
    sids = [s["Sid"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert sids == ["ReadTrainingCode", "ListTrainingCode"]
    assert "TrainingRole" in json.dumps(policy["Properties"]["Roles"])


def test_serving_uses_the_foundation_prefixes(stage_templates) -> None:
    template = stage_templates["Serving"]
    [model] = resources_of(template, "AWS::SageMaker::Model").values()
    url = model["Properties"]["PrimaryContainer"]["ModelDataUrl"]
    assert json.dumps(url).endswith('"/training/models/example/output/model.tar.gz"]]}')
    [config] = resources_of(template, "AWS::SageMaker::EndpointConfig").values()
    capture = config["Properties"]["DataCaptureConfig"]["DestinationS3Uri"]
    assert json.dumps(capture).endswith('"/data-capture"]]}')
    transform = definition_of(template)["States"]["Transform"]["Parameters"]
    assert "/batch-transform/{}/'" in transform["TransformOutput"]["S3OutputPath.$"]


@pytest.mark.parametrize("stack_id", ["Training", "Serving"])
def test_topic_key_admits_alarms_and_events(stage_templates, stack_id: str) -> None:
    template = stage_templates[stack_id]
    [key] = resources_of(template, "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    publishers = [
        s for s in statements if s.get("Sid") == "AllowAlarmAndEventPublishingToEncryptedTopics"
    ]
    assert publishers and publishers[0]["Principal"]["Service"] == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
    ]
    [topic] = resources_of(template, "AWS::SNS::Topic").values()
    assert "NotificationKey" in json.dumps(topic["Properties"]["KmsMasterKeyId"])


def test_foundation_stacks_are_not_modified(stage_templates) -> None:
    # Grants to the foundation's roles live in this project's stacks (managed policies), never
    # in the Iam stack's DefaultPolicy; the data key's policy is the Data stack's alone.
    iam_text = json.dumps(stage_templates["Iam"])
    for trace in ("cdk-hnb659fds-assets", "CreateModelPackage", "model-package-group", "Topic"):
        assert trace not in iam_text, trace
    assert "cloudwatch.amazonaws.com" not in json.dumps(stage_templates["Data"])


def test_source_dirs_default_to_the_repository_code() -> None:
    root = Path(__file__).resolve().parents[2]
    training = TrainingStackProps(
        environment="x",
        training=TrainingSettings(quality_gate_threshold=0.5),
        log_retention_days=7,
    )
    assert training.source_dir == root / "training"
    assert training.serving_code_dir == root / "inference"  # bundled into the model's code/
    serving = ServingStackProps(environment="x", serving=ServingSettings(), log_retention_days=7)
    assert serving.source_dir == root / "inference"
