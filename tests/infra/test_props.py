"""Props are validated early; the error names the field and the bad value."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from stacks.constructs.serving.props import EndpointProps, VariantKind
from stacks.constructs.training.props import (
    HyperparameterRange,
    MetricDefinition,
    TrainingJobProps,
    TrainingMode,
    TuningProps,
)

from .doubles import FIXTURES


@pytest.fixture(scope="module")
def refs() -> dict[str, Any]:
    stack = Stack(App(), "S")
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-1",
        availability_zones=["eu-west-1a"],
        isolated_subnet_ids=["subnet-1"],
    )
    return dict(
        bucket=s3.Bucket.from_bucket_name(stack, "B", "data"),
        key=kms.Key.from_key_arn(stack, "K", "arn:aws:kms:eu-west-1:123456789012:key/abc"),
        role=iam.Role.from_role_arn(stack, "R", "arn:aws:iam::123456789012:role/r"),
        subnets=vpc.isolated_subnets,
        sg=ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-1"),
    )


def training(refs: dict[str, Any], **overrides: Any) -> TrainingJobProps:
    values: dict[str, Any] = dict(
        data_bucket=refs["bucket"],
        artifacts_bucket=refs["bucket"],
        encryption_key=refs["key"],
        training_role=refs["role"],
        subnets=refs["subnets"],
        security_groups=[refs["sg"]],
        model_package_group_name="models",
        quality_gate_threshold=0.7,
        source_dir=FIXTURES / "training",
    )
    values.update(overrides)
    return TrainingJobProps(**values)


def endpoint(refs: dict[str, Any], **overrides: Any) -> EndpointProps:
    values: dict[str, Any] = dict(
        artifacts_bucket=refs["bucket"],
        data_bucket=refs["bucket"],
        encryption_key=refs["key"],
        model_role=refs["role"],
        subnets=refs["subnets"],
        security_groups=[refs["sg"]],
        source_dir=FIXTURES / "inference",
        model_data_url="s3://b/models/x/model.tar.gz",
    )
    values.update(overrides)
    return EndpointProps(**values)


def test_valid_props_build(refs) -> None:
    assert training(refs).gate_metric_name == "validation:auc"
    assert endpoint(refs).isolated


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"source_dir": None}, "source_dir must be a directory when mode is SCRIPT, got None"),
        ({"entry_point": "missing.py"}, "entry_point must be a file inside .*, got 'missing.py'"),
        (
            {"serving_code_dir": FIXTURES / "missing"},
            "serving_code_dir must be an existing directory, got '.*missing'",
        ),
        ({"model_package_group_name": "Models_1"}, "model_package_group_name must be lower-case"),
        ({"job_name_prefix": "x" * 31}, "job_name_prefix must be .* at most 30 characters"),
        (
            {"hyperparameters": {"num_round": 100}},
            r"hyperparameters\['num_round'\] must be a string .*, got 100",
        ),
        (
            {"hyperparameters": {"sagemaker_program": "x.py"}},
            "hyperparameters must be free of sagemaker_\\* keys .*, got 'sagemaker_program'",
        ),
        ({"instance_type": "m5.xlarge"}, "instance_type must be an ml.\\* instance type"),
        ({"instance_count": 0}, "instance_count must be between 1 and 100, got 0"),
        (
            {"max_wait_s": 60},
            r"max_wait_s must be between max_runtime_s \(3600\) and 2419200, got 60",
        ),
        ({"train_prefix": "/train"}, "train_prefix must be an S3 key prefix .*, got '/train'"),
        (
            {"quality_gate_threshold": float("nan")},
            "quality_gate_threshold must be a finite number",
        ),
        (
            {"metric_definitions": [MetricDefinition(name="train:auc", regex="x")]},
            "metric_definitions must be a list that defines the gated metric 'validation:auc'",
        ),
        (
            {"new_data_key_suffix": "_SUCCESS"},
            "new_data_key_suffix must be empty unless trigger_on_new_data",
        ),
        (
            {
                "tuning": TuningProps(
                    ranges=[HyperparameterRange(name="eta", min_value=1, max_value=0.1)]
                )
            },
            r"tuning.ranges\['eta'\] must be a range with min_value < max_value, got \(1, 0.1\)",
        ),
        (
            {
                "tuning": TuningProps(
                    ranges=[HyperparameterRange(name="eta", min_value=0.1, max_value=0.3)],
                    max_training_jobs=2,
                    max_parallel_training_jobs=3,
                )
            },
            r"tuning.max_parallel_training_jobs must be between 1 and max_training_jobs "
            r"\(2\), got 3",
        ),
    ],
)
def test_fails_on_invalid_training_props(refs, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        training(refs, **overrides)


def test_algorithm_mode_needs_no_source(refs) -> None:
    assert training(refs, mode=TrainingMode.ALGORITHM, source_dir=None).source_dir is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/m/1"},
            "model_package_arn must be unset when model_data_url is set",
        ),
        ({"model_data_url": None}, "model_package_arn/model_data_url must be exactly one of"),
        (
            {"model_data_url": "s3://b/model.zip"},
            "model_data_url must be an s3://…/model.tar.gz URI",
        ),
        ({"instance_type": "ml.m5d.large"}, "instance_type must be a type without local NVMe"),
        (
            {"instance_count": 3, "max_instance_count": 2},
            r"instance_count must be between 1 and max_instance_count \(2\), got 3",
        ),
        (
            {"data_capture_sampling_percent": 101},
            "data_capture_sampling_percent must be between 0 and 100",
        ),
        (
            {"variant": VariantKind.SERVERLESS, "serverless_memory_mib": 1500},
            "serverless_memory_mib must be one of 1024, 2048, .*, got 1500",
        ),
        ({"canary_size_percent": 60}, "canary_size_percent must be between 1 and 50, got 60"),
        ({"max_deployment_s": 60}, "max_deployment_s must be between 600 and 28800, got 60"),
        (
            {"transform_max_payload_mib": 50, "transform_max_concurrent": 3},
            "transform_max_concurrent must be at most 2 with transform_max_payload_mib=50, got 3",
        ),
        ({"subnets": []}, "subnets must be at least one subnet"),
    ],
)
def test_fails_on_invalid_endpoint_props(refs, overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        endpoint(refs, **overrides)


def test_serverless_needs_no_vpc(refs) -> None:
    props = endpoint(refs, variant=VariantKind.SERVERLESS, subnets=[], security_groups=[])
    assert not props.isolated


def test_max_wait_defaults_to_twice_the_runtime_within_the_limit(refs) -> None:
    assert training(refs, max_runtime_s=10800).max_wait_s == 21600  # a fixed 7200 would fail
    assert training(refs, max_runtime_s=20 * 86400).max_wait_s == 28 * 86400


def test_max_instance_count_defaults_to_at_least_the_minimum(refs) -> None:
    assert endpoint(refs).max_instance_count == 2
    assert endpoint(refs, instance_count=3).max_instance_count == 3  # a fixed 2 would fail
