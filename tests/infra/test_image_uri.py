"""The XGBoost image URI: one pinned version, resolved from sagemaker-core's image map."""

from __future__ import annotations

import importlib.metadata
import warnings

import pytest
from aws_cdk import App, CfnOutput, Environment, Stack
from aws_cdk.assertions import Template

from stacks.constructs.image_uri import (
    XGBOOST_VERSION,
    image_uri_for_region,
    registries,
    xgboost_image_uri,
)


def test_pinned_version_matches_local_xgboost() -> None:
    # Container 3.2-0 ships xgboost 3.2.0: the local runtime must train the same library.
    assert XGBOOST_VERSION == "3.2-0"
    assert importlib.metadata.version("xgboost-cpu").startswith("3.2.")


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("eu-west-1", "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"),
        ("us-east-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"),
        ("cn-north-1", "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:3.2-0"),
    ],
)
def test_concrete_region_gives_a_literal_uri(region: str, expected: str) -> None:
    stack = Stack(App(), "S", env=Environment(account="123456789012", region=region))
    assert xgboost_image_uri(stack) == expected
    assert xgboost_image_uri(stack, "inference") == expected


SAMPLE_REGIONS = [
    "eu-west-1",
    "us-east-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "il-central-1",
    "ap-southeast-4",
]


def test_same_uri_as_sagemaker_core_retrieve() -> None:
    # The SDK's own function is the reference (importing it costs ~4 s and each call reloads
    # botocore's endpoint data, so a sample of partitions rather than all 37 regions).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from sagemaker.core import image_uris

    for region in SAMPLE_REGIONS:
        for scope in ("training", "inference"):
            assert image_uri_for_region(region, scope) == image_uris.retrieve(
                "xgboost", region, version=XGBOOST_VERSION, image_scope=scope
            ), (region, scope)


def test_environment_agnostic_stack_maps_region_at_deploy_time() -> None:
    stack = Stack(App(), "S")
    CfnOutput(stack, "Image", value=xgboost_image_uri(stack))
    uri = stack.resolve(xgboost_image_uri(stack))
    assert uri == {
        "Fn::Join": [
            "",
            [
                {
                    "Fn::FindInMap": [
                        "SageMakerXgboost320Registries",
                        {"Ref": "AWS::Region"},
                        "training",
                    ]
                },
                ".dkr.ecr.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
                "/sagemaker-xgboost:3.2-0",
            ],
        ]
    }
    # Asking twice reuses the one mapping.
    xgboost_image_uri(stack, "inference")
    mappings = Template.from_stack(stack).to_json()["Mappings"]
    assert list(mappings) == ["SageMakerXgboost320Registries"]
    mapping = mappings["SageMakerXgboost320Registries"]
    assert mapping["eu-west-1"] == {"training": "141502667606", "inference": "141502667606"}
    assert set(mapping) == set(registries("training"))


def test_fails_for_a_region_without_the_image() -> None:
    stack = Stack(App(), "S", env=Environment(account="123456789012", region="xx-nowhere-1"))
    with pytest.raises(ValueError, match="region 'xx-nowhere-1' has no sagemaker-xgboost 3.2-0"):
        xgboost_image_uri(stack)


def test_fails_for_an_unknown_version() -> None:
    with pytest.raises(ValueError, match="version must be one of .* got 'latest-ish'"):
        image_uri_for_region("eu-west-1", "training", "latest-ish")
