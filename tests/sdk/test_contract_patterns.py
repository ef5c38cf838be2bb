"""The instance-type and model-package-ARN patterns every checker shares (sagestack.contract)."""

from __future__ import annotations

import botocore.session
import pytest

from sagestack.contract.patterns import (
    ML_INSTANCE_TYPE,
    is_ml_instance_type,
    is_model_package_arn,
)

_SHAPES = (
    "TrainingInstanceType",
    "ProductionVariantInstanceType",
    "TransformInstanceType",
    "ProcessingInstanceType",
)


def test_every_instance_type_the_sagemaker_api_lists_matches() -> None:
    # The public source: botocore's SageMaker service model, whose enums include hyphenated
    # families (ml.c7i-flex.large, ml.p6-b200.48xlarge) that the props checks used to refuse.
    model = botocore.session.get_session().get_service_model("sagemaker")
    types = {t for shape in _SHAPES for t in model.shape_for(shape).enum}
    assert len(types) > 100
    assert sorted(t for t in types if not is_ml_instance_type(t)) == []


@pytest.mark.parametrize(
    "value", ["m5.large", "ml.m5", "ml.M5.large", "ml..large", "ml.m5.large\n", " ml.m5.large"]
)
def test_fails_on_what_is_not_an_ml_instance_type(value: str) -> None:
    assert not is_ml_instance_type(value)


def test_the_family_is_a_named_group() -> None:
    match = ML_INSTANCE_TYPE.match("ml.c7i-flex.large")
    assert match is not None and match["family"] == "c7i-flex"


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3",
        "arn:aws-us-gov:sagemaker:us-gov-west-1:123456789012:model-package/churn/1",
        "arn:aws-cn:sagemaker:cn-north-1:123456789012:model-package/standalone",
    ],
)
def test_model_package_arns_match(value: str) -> None:
    assert is_model_package_arn(value)


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package-group/churn",
        "arn:aws:sagemaker:eu-west-1:12345:model-package/churn/3",
        "arn:aws:s3:eu-west-1:123456789012:model-package/churn/3",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn 3",
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/churn/3\n",
    ],
)
def test_fails_on_what_is_not_a_model_package_arn(value: str) -> None:
    assert not is_model_package_arn(value)
