"""A local fit and a cloud fit of the same hyperparameters hand the script the same strings.

All three paths encode with sagestack.contract.hyperparameters (SageMaker Python SDK v3's
``safe_serialize``): the local runtime's hyperparameters.json, the SDK's CreateTrainingJob
request, and the Training stack execution the bundled model starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sagestack import S3DataSource, TrainingInstance, XGBoostModel
from sagestack.contract.hyperparameters import decode_value, encode, encode_value
from sagestack.local.hyperparameters import to_hyperparameters_json
from sagestack.sdk.backends import local as local_backend

from .conftest import Channels, Deployed
from .numpy_models import NearestCentroid

CUSTOM_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/numpy:1"
VALUES: dict[str, Any] = {
    "flag": True,
    "off": False,
    "rounds": 5,
    "eta": 0.1,
    "tiny": 1e-7,
    "objective": "binary:logistic",
    "quoted": '"already json"',
    "layers": [1, 2.5, "x"],
    "weights": {"a": 1, "b": [True, None]},
    "nothing": None,
    "numpy_int": np.int64(7),  # not JSON-serializable: str(), as safe_serialize does
    "path": Path("data/x.csv"),
}
EXPECTED = {
    "flag": "true",
    "off": "false",
    "rounds": "5",
    "eta": "0.1",
    "tiny": "1e-07",
    "objective": "binary:logistic",
    "quoted": '"already json"',
    "layers": '[1, 2.5, "x"]',
    "weights": '{"a": 1, "b": [true, null]}',
    "nothing": "null",
    "numpy_int": "7",
    "path": "data/x.csv",
}


def test_the_contract_encodes_as_sagemaker_sdk_v3() -> None:
    assert encode(VALUES) == EXPECTED
    # A value the script gets back decodes to what was given, for every JSON value.
    for key in ("flag", "rounds", "eta", "layers", "weights", "nothing"):
        assert decode_value(encode_value(VALUES[key])) == VALUES[key]


def _local_hyperparameters(
    model: Any, channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """What the local runtime writes to hyperparameters.json for ``model.fit(..., VALUES)``."""
    specs: list[Any] = []
    monkeypatch.setattr(
        local_backend, "LocalTrainingRun", lambda spec, background: specs.append(spec)
    )
    model.fit(TrainingInstance("local"), channels.both, VALUES, wait=False)
    (spec,) = specs
    return to_hyperparameters_json(spec.hyperparameters, style=spec.launch)


def test_a_custom_model_gets_the_same_strings_locally_and_on_aws(
    deployed: Deployed, channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = NearestCentroid(image_uri=CUSTOM_IMAGE, boto_session=deployed.session)
    local = _local_hyperparameters(model, channels, monkeypatch)
    model.fit(TrainingInstance("ml.m5.large"), channels.both, VALUES, wait=False)
    (request,) = deployed.params("sagemaker", "CreateTrainingJob")

    assert request["HyperParameters"] == local
    assert {k: v for k, v in local.items() if k in VALUES} == EXPECTED


def test_the_bundled_model_gets_the_same_strings_locally_and_from_the_training_stack(
    deployed: Deployed, channels: Channels, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = XGBoostModel(boto_session=deployed.session)
    # VALUES are made-up names that exercise the encoding; the name check is tested elsewhere.
    monkeypatch.setattr(model, "check_hyperparameters", lambda hyperparameters: None)
    local = _local_hyperparameters(model, channels, monkeypatch)
    data = {
        "train": S3DataSource("s3://sagestack-dev-data/train/"),
        "validation": S3DataSource("s3://sagestack-dev-data/validation/"),
    }
    model.fit(TrainingInstance("ml.m5.xlarge"), data, VALUES, wait=False)
    (start,) = deployed.params("stepfunctions", "StartExecution")

    cloud = json.loads(start["input"])["hyperparameters"]
    assert cloud == {k: v for k, v in local.items() if k in VALUES} == EXPECTED
