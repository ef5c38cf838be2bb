"""The local backend end to end: a Model subclass defined in this file, and the bundled XGBoost.

``Logistic`` below is a user's own model in a file of its own: fit() ships this file to the
training "container" (a subprocess running training/sagestack_train.py under the SageMaker
contract) and deploy() serves the archive with inference/sagestack_serve.py. The container
imports this file as a top-level module, so its module-level imports are absolute ones it has
(numpy, scikit-learn, pytest, sagestack); the test helpers are imported inside the tests.
"""

from __future__ import annotations

import json
import tarfile
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from sagestack import (
    Dataset,
    Model,
    PredictorInstance,
    S3DataSource,
    TrainingInstance,
    XGBoostModel,
)
from sagestack.sdk.errors import PredictionError, TrainingFailedError

if TYPE_CHECKING:
    from .conftest import Channels


class Logistic(Model):
    """scikit-learn's logistic regression as a SageStack model."""

    metric_names = ("accuracy",)

    def train(
        self, train: Dataset, validation: Dataset | None, hyperparameters: dict[str, Any]
    ) -> LogisticRegression:
        c = float(hyperparameters.get("C", 1.0))
        return LogisticRegression(C=c, max_iter=200).fit(train.X, train.y)

    def predict(self, model: LogisticRegression, features: np.ndarray) -> np.ndarray:
        return model.predict_proba(features)[:, 1]

    def evaluate(self, model: LogisticRegression, data: Dataset) -> dict[str, float]:
        return {"accuracy": float(model.score(data.X, data.y))}


@pytest.mark.slow
def test_custom_subclass_fits_deploys_and_predicts_locally(channels: Channels) -> None:
    from sagestack.sdk.backends.local import LocalPredictor

    model = Logistic()
    artifacts = model.fit(TrainingInstance("local"), channels.both, {"C": 0.5})

    assert artifacts.is_local and artifacts.path.name == "model.tar.gz"
    assert model.last_run is not None and model.last_run.status() == "Completed"
    assert model.last_run.metrics["validation:accuracy"] > 0.8
    with tarfile.open(artifacts.path) as tar:
        names = set(tar.getnames())
    assert {"model.pkl", "code/test_local_backend.py", "code/sagestack_serve.py"} <= names

    fitted = model.load(_extract(artifacts))  # the same artifact, read in-process
    expected = model.predict(fitted, channels.x_validation)
    with model.deploy(PredictorInstance("local"), artifacts) as predictor:
        assert isinstance(predictor, LocalPredictor)
        served = predictor.predict(channels.x_validation)
        one_row = predictor.predict(channels.x_validation[0])
        endpoint = predictor.endpoint
        assert (predictor.log_file.parent / f"{predictor.endpoint_name}.json").is_file()
    np.testing.assert_allclose(served, expected, rtol=1e-12)
    np.testing.assert_allclose(one_row, expected[:1], rtol=1e-12)
    assert not endpoint.running()  # delete() on leaving the block stopped the server


def _extract(artifacts: S3DataSource) -> str:
    target = artifacts.path.parent / "extracted"
    with tarfile.open(artifacts.path) as tar:
        tar.extractall(target, filter="data")
    return str(target)


@pytest.mark.slow
def test_bundled_xgboost_uses_train_py_and_inference_py(channels: Channels) -> None:
    model = XGBoostModel()
    hyperparameters = {"objective": "binary:logistic", "eval_metric": "auc", "num_round": 20}
    artifacts = model.fit(TrainingInstance("local"), channels.both, hyperparameters)
    with tarfile.open(artifacts.path) as tar:
        assert tar.getnames() == ["xgboost-model"]  # alone at the root: SageMaker tars model/ as is
    assert model.last_run is not None and "validation:auc" in model.last_run.metrics

    booster = model.load(_extract(artifacts))
    with model.deploy(PredictorInstance("local"), artifacts) as predictor:
        served = predictor.predict(channels.x_validation)
        with pytest.raises(PredictionError) as raised:
            predictor.predict(channels.x_validation[:, :2])  # too few columns
    np.testing.assert_allclose(served, model.predict(booster, channels.x_validation), rtol=1e-6)
    assert raised.value.status == 400


def test_wait_false_returns_a_handle(channels: Channels) -> None:
    from .numpy_models import NearestCentroid

    run = NearestCentroid().fit(TrainingInstance("local"), channels.train, wait=False)
    assert run.status() in ("InProgress", "Completed")
    artifacts = run.wait()
    assert run.status() == "Completed" and artifacts.path.is_file()
    assert run.metrics == {"train:accuracy": pytest.approx(run.metrics["train:accuracy"])}


def test_fails_with_the_job_reason(channels: Channels) -> None:
    from .numpy_models import Exploding

    with pytest.raises(TrainingFailedError) as raised:
        Exploding().fit(TrainingInstance("local"), channels.train, {"alpha": -1})
    assert "Exploding.train raised ValueError: alpha must be positive, got -1" in str(raised.value)


def test_fails_on_a_misspelt_hyperparameter_before_launching(channels: Channels) -> None:
    from sagestack.sdk.errors import ConfigurationError

    model = XGBoostModel()
    with pytest.raises(ConfigurationError, match=r"max_dept \(did you mean max_depth"):
        model.fit(TrainingInstance("local"), channels.train, {"num_round": 2, "max_dept": 3})
    assert model.last_run is None  # no job was started


def test_cli_serves_a_custom_models_archive_without_program(channels: Channels) -> None:
    import requests
    from cli_serve import serve_in_background

    from .numpy_models import NearestCentroid

    artifacts = NearestCentroid().fit(TrainingInstance("local"), channels.train)
    process, url, line = serve_in_background(artifacts.path)
    try:
        assert "(sagestack_serve.py)" in line, line
        rows = "\n".join(",".join(str(v) for v in row) for row in channels.x_validation[:2])
        answer = requests.post(
            f"{url}/invocations",
            data=rows,
            headers={"Content-Type": "text/csv"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_local_status_lists_jobs_and_endpoints(channels: Channels) -> None:
    from typer.testing import CliRunner

    from sagestack.cli import app

    from .numpy_models import NearestCentroid

    model = NearestCentroid()
    artifacts = model.fit(TrainingInstance("local"), channels.train)
    predictor = model.deploy(PredictorInstance("local"), artifacts)
    try:
        result = CliRunner().invoke(app, ["status", "--local"], env={"COLUMNS": "200"})
    finally:
        predictor.delete()
    assert result.exit_code == 0, result.output
    assert model.last_run is not None and model.last_run.name in result.output
    assert predictor.endpoint_name in result.output and "InService" in result.output
    report = CliRunner().invoke(app, ["report", "--local", model.last_run.name, "--json"])
    assert json.loads(report.output)["model"] == "numpy_models:NearestCentroid"
