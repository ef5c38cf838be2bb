"""``XGBoostModel``: the bundled model, trained by training/train.py and served by inference.py.

Its fit() and deploy() do not go through the generic entry point: they run the optimized
script-mode code that ships with SageStack (and, on AWS, the Training stack's state machine,
with its quality gate and model registry). train()/predict()/save()/load() work in-process
too and use the same artifact layout: ``xgboost-model`` (UBJSON) alone at the archive root.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from sagestack import paths
from sagestack.sdk.dataset import JSON, Dataset, media_type
from sagestack.sdk.errors import ConfigurationError
from sagestack.sdk.model import Model
from sagestack.sdk.packaging import ServingCode, TrainingCode

MODEL_FILE = "xgboost-model"
_BOOSTING_KEYS = ("num_round", "early_stopping_rounds")


@functools.cache
def _param_names() -> ModuleType:
    """training/param_names.py, the check train.py runs, loaded from the bundled code: it has
    to live there (the container runs it without the SDK)."""
    path = paths.training_dir() / "param_names.py"
    spec = importlib.util.spec_from_file_location("sagestack_training_param_names", path)
    if spec is None or spec.loader is None:
        raise ConfigurationError(f"cannot load {path}; reinstall sagestack")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unknown_hyperparameters_message(names: Iterable[str]) -> str | None:
    """What train.py would fail the job with for these hyperparameter names, or None."""
    message: str | None = _param_names().unknown_names_message(list(names))
    return message


class XGBoostModel(Model):
    """Gradient-boosted trees with XGBoost 3.2 (the SageMaker XGBoost 3.2-0 container's).

    Hyperparameters are XGBoost's (``objective``, ``eval_metric``, ``max_depth``, ``eta``...)
    plus ``num_round`` (required) and ``early_stopping_rounds``; see training/hyperparams.py.
    A Predictor returns what ``predict`` does: the positive-class probability for
    ``binary:logistic``, class probabilities for ``multi:softprob``, scores for regression.
    """

    accept: ClassVar[str] = JSON
    bundled: ClassVar[bool] = True

    def train(
        self, train: Dataset, validation: Dataset | None, hyperparameters: dict[str, Any]
    ) -> Any:
        """In-process training with the same semantics as training/train.py's core loop."""
        import xgboost as xgb

        params = {k: v for k, v in hyperparameters.items() if k not in _BOOSTING_KEYS}
        if "num_round" not in hyperparameters:
            raise ValueError("num_round is required (the number of boosting rounds)")
        dtrain = xgb.DMatrix(train.features, label=train.labels)
        evals = [(dtrain, "train")]
        if validation is not None:
            evals.append((xgb.DMatrix(validation.features, label=validation.labels), "validation"))
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=int(hyperparameters["num_round"]),
            evals=evals,
            early_stopping_rounds=hyperparameters.get("early_stopping_rounds"),
            verbose_eval=False,
        )
        best = booster.attributes().get("best_iteration")
        if best is not None:
            booster = booster[: int(best) + 1]
        return booster

    def check_hyperparameters(self, hyperparameters: Mapping[str, Any]) -> None:
        """A misspelt name fails here, before a job starts, as train.py would fail it."""
        message = unknown_hyperparameters_message(hyperparameters)
        if message:
            raise ConfigurationError(message)

    def predict(self, model: Any, features: np.ndarray) -> np.ndarray:
        return np.asarray(model.inplace_predict(np.asarray(features, dtype=np.float32)))

    def save(self, model: Any, model_dir: str) -> None:
        with open(os.path.join(model_dir, MODEL_FILE), "wb") as handle:
            handle.write(model.save_raw("ubj"))

    def load(self, model_dir: str) -> Any:
        import xgboost as xgb

        booster = xgb.Booster()
        with open(os.path.join(model_dir, MODEL_FILE), "rb") as handle:
            booster.load_model(bytearray(handle.read()))
        return booster

    def decode_response(self, body: bytes, content_type: str | None) -> np.ndarray:
        """inference.py's records -> what predict() returns for the same rows."""
        if media_type(content_type) != JSON:
            return super().decode_response(body, content_type)
        records = json.loads(body)["predictions"]
        for key in ("probability", "probabilities", "predicted_score", "predicted_label"):
            if records and key in records[0]:
                return np.asarray([record[key] for record in records], dtype=np.float64)
        return np.asarray(records)

    def training_code(self) -> TrainingCode:
        return TrainingCode(paths.training_dir(), "train.py")

    def serving_code(self) -> ServingCode:
        return ServingCode("inference.py", paths.inference_dir())
