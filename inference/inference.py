"""SageMaker script-mode serving handlers for the XGBoost model (SAGEMAKER_PROGRAM=inference.py).

The container (sagemaker-containers' `Transformer`, `_transformer.py`) calls `model_fn(model_dir)`
once per worker and then `transform_fn(model, body, content_type, accept)` per request. We define
transform_fn and NOT input_fn/predict_fn/output_fn: the Transformer rejects the two styles
together, and only transform_fn can answer a bad request with a 4xx, because the Transformer
wraps every hook so that any exception it raises becomes a 500. The three steps still exist as
pure functions (`decoders.decode`, `predict`, `encoders.encode`) that tests and the local runtime
can call one by one.

negotiation.py maps Content-Type and Accept to our formats, decoders.py reads the request bodies
and encoders.py writes the responses. They are top-level modules beside this one: the container
pip-installs the whole code dir (sagemaker-containers' `_modules.prepare` writes
`setup(packages=[''])`, which installs every top-level .py file), and training/train.py copies
the whole directory into the model archive's code/.

Responses hold one record per input row, in order:
  binary        predicted_label, probability (of class 1)
  multi-class   predicted_label, probabilities (one per class)
  other         predicted_score (a list for multi-output models)
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from typing import Any

import decoders
import encoders
import numpy as np
import xgboost as xgb
from negotiation import RequestError, request_format, response_format

logger = logging.getLogger(__name__)

MODEL_FILE = "xgboost-model"


@dataclass(frozen=True)
class ServingModel:
    """The booster plus what serving needs to know about it, worked out once in model_fn."""

    booster: xgb.Booster
    objective: str
    num_features: int
    num_class: int
    kind: str  # "binary", "binary_margin", "binary_hinge", "multiclass", "regression"
    fast: _DensePredictor | None = None  # None: plain inplace_predict (see _DensePredictor)

    def inplace(self, features: np.ndarray, margin: bool = False) -> np.ndarray:
        """``booster.inplace_predict(features)`` (value or margin), the fast way if possible."""
        if self.fast is not None:
            return self.fast(features, margin)
        if margin:
            return self.booster.inplace_predict(features, predict_type="margin")
        return self.booster.inplace_predict(features)


class _DensePredictor:
    """``Booster.inplace_predict`` for a float32 matrix, without ~80 us of Python per call.

    For a one-row request the Python wrapper (input-type dispatch, JSON-encoding the same
    arguments every call, defining a class per call to wrap the output) costs about as much
    as the prediction itself. This calls the same C function with the same arguments; model_fn
    only uses it after checking it gives inplace_predict's exact output, so a different
    xgboost falls back to the public method instead of predicting wrongly.
    """

    def __init__(self, booster: xgb.Booster) -> None:
        import ctypes

        from xgboost import core
        from xgboost._data_utils import array_interface

        self._ctypes = ctypes
        self._booster = booster
        self._call = core._LIB.XGBoosterPredictFromDense  # noqa: SLF001
        self._check = core._check_call  # noqa: SLF001
        self._ulong = core.c_bst_ulong
        self._interface = array_interface
        self._args = {
            margin: core.make_jcargs(
                type=1 if margin else 0,
                training=False,
                iteration_begin=0,
                iteration_end=0,
                missing=np.nan,
                strict_shape=False,
                cache_id=0,
            )
            for margin in (False, True)
        }

    def __call__(self, features: np.ndarray, margin: bool = False) -> np.ndarray:
        ctypes = self._ctypes
        data = np.ascontiguousarray(features, dtype=np.float32)
        preds = ctypes.POINTER(ctypes.c_float)()
        shape = ctypes.POINTER(self._ulong)()
        dims = self._ulong()
        self._check(
            self._call(
                self._booster.handle,
                self._interface(data),
                self._args[margin],
                None,
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(preds),
            )
        )
        out_shape = tuple(int(shape[i]) for i in range(dims.value))
        size = int(np.prod(out_shape))
        # The buffer belongs to the booster and is reused by the next call: copy it out.
        return np.ctypeslib.as_array(preds, shape=(size,)).copy().reshape(out_shape)


def _fast_predictor(booster: xgb.Booster, num_features: int) -> _DensePredictor | None:
    """A _DensePredictor that agrees exactly with inplace_predict on a probe, else None."""
    try:
        fast = _DensePredictor(booster)
        probe = np.random.default_rng(0).normal(size=(3, num_features)).astype(np.float32)
        probe[0, 0] = np.nan
        for margin in (False, True):
            kind = "margin" if margin else "value"
            expected = booster.inplace_predict(probe, predict_type=kind)
            got = fast(probe, margin)
            if got.shape != expected.shape or not np.array_equal(got, expected, equal_nan=True):
                raise ValueError(f"{kind} predictions differ")
        return fast
    except Exception as e:  # noqa: BLE001 - any surprise means: use the public method
        logger.warning("Using Booster.inplace_predict (fast path unavailable: %s)", e)
        return None


def _kind(objective: str) -> str:
    if objective == "binary:logistic":
        return "binary"
    if objective == "binary:logitraw":
        return "binary_margin"
    if objective == "binary:hinge":
        return "binary_hinge"
    if objective.startswith("multi:"):
        return "multiclass"
    return "regression"


def load_model(path: str) -> ServingModel:
    booster = xgb.Booster()
    with open(
        path, "rb"
    ) as f:  # from bytes: the format is sniffed without a "no extension" warning
        booster.load_model(bytearray(f.read()))
    # One thread per request, as the built-in algorithm does: the server runs a worker per CPU,
    # and OpenMP fan-out on a 1-row request costs more than it saves. OMP_NUM_THREADS overrides
    # (the container sets it to 1 when unset).
    booster.set_param({"nthread": int(os.environ.get("OMP_NUM_THREADS") or 1)})
    config = json.loads(booster.save_config())
    learner = config["learner"]
    objective = learner["objective"]["name"]
    num_class = int(learner["learner_model_param"].get("num_class", "0") or 0)
    return ServingModel(
        booster=booster,
        objective=objective,
        num_features=booster.num_features(),
        num_class=num_class,
        kind=_kind(objective),
        fast=_fast_predictor(booster, booster.num_features()),
    )


def model_fn(model_dir: str) -> ServingModel:
    """Load `xgboost-model` (UBJSON/JSON, as train.py and the built-in algorithm save it)."""
    path = os.path.join(model_dir, MODEL_FILE)
    if not os.path.isfile(path):
        found = sorted(os.listdir(model_dir)) if os.path.isdir(model_dir) else []
        raise FileNotFoundError(f"No {MODEL_FILE} in {model_dir} (found: {found})")
    model = load_model(path)
    logger.info(
        "Loaded %s: objective=%s features=%d classes=%d",
        path,
        model.objective,
        model.num_features,
        model.num_class,
    )
    return model


def predict(model: ServingModel, features: np.ndarray) -> dict[str, np.ndarray]:
    """Column arrays keyed by output name: predicted_label + probability/probabilities for
    classification, predicted_score otherwise."""
    kind = model.kind
    if kind == "binary":
        probability = model.inplace(features)
        return {"predicted_label": (probability > 0.5).astype(np.int64), "probability": probability}
    if kind == "binary_margin":
        margin = model.inplace(features, margin=True)
        probability = 1.0 / (1.0 + np.exp(-margin))
        return {"predicted_label": (margin > 0).astype(np.int64), "probability": probability}
    if kind == "binary_hinge":
        return {"predicted_label": model.inplace(features).astype(np.int64)}
    if kind == "multiclass":
        if model.objective == "multi:softprob":
            probabilities = model.inplace(features)
        else:  # multi:softmax predicts the class only; softmax of the margins gives the rest
            margin = model.inplace(features, margin=True)
            shifted = np.exp(margin - margin.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        probabilities = probabilities.reshape(features.shape[0], -1)
        return {
            "predicted_label": probabilities.argmax(axis=1).astype(np.int64),
            "probabilities": probabilities,
        }
    return {"predicted_score": model.inplace(features)}


def _error_response(error: RequestError):
    """A flask.Response carries the status: the Transformer returns a hook's Response as is
    (sagemaker-containers `_transformer.py`, `Transformer.transform`)."""
    from flask import Response  # in the container, and only needed on the error path

    return Response(error.message, status=error.status, mimetype="text/plain")


def transform_fn(model: ServingModel, request_body: Any, content_type: str, accept: str):
    """The container's per-request hook: (body, mimetype) on success, a 4xx Response otherwise."""
    try:
        request_format(content_type)  # 415 before 406: the body is the bigger mistake
        fmt = response_format(accept)
        try:
            features = decoders.decode(request_body, content_type, model.num_features)
        except (ValueError, TypeError, OverflowError, RecursionError) as error:
            # Whatever the parsers did not foresee (JSON nested past the recursion limit,
            # integers too long or too large for a float) is still the client's body.
            raise RequestError(400, f"The body could not be parsed: {error}"[:1000]) from None
        return encoders.encode(predict(model, features), fmt), fmt
    except RequestError as error:
        return _error_response(error)
