"""The XGBoost image's default hooks, used for whichever of them a user module leaves out."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

CSV = "text/csv"
JSON = "application/json"
NPY = "application/x-npy"
LIBSVM = ("text/libsvm", "text/x-libsvm")


class UnsupportedFormatError(ValueError):
    """A content type or accept type the default hooks do not handle."""

    def __init__(self, content_type: str) -> None:
        super().__init__(
            f"Content type {content_type} is not supported by this framework. Implement "
            "input_fn to deserialize the request data or output_fn to serialize the response."
        )


def default_model_fn(model_dir: str) -> Any:
    """The toolkit's default: there is none, a script-mode module must define model_fn."""
    raise NotImplementedError(
        "Please provide a model_fn implementation in the inference module "
        f"(model_fn(model_dir) is required; model dir: {model_dir})"
    )


def _csv_matrix(text: str) -> np.ndarray:
    # Like the container's decoder: no stripping, so a trailing newline is an empty row and
    # fails (the contract's "CSV must have no leading or trailing newline").
    rows = text.split("\n")
    values = [[float(v) if v != "" else np.nan for v in row.split(",")] for row in rows]
    width = {len(row) for row in values}
    if len(width) != 1:
        raise ValueError(f"CSV rows have different widths: {sorted(width)}")
    return np.asarray(values, dtype=np.float32)


def default_input_fn(body: Any, content_type: str) -> Any:
    """CSV or libsvm payload -> xgboost.DMatrix, as the XGBoost image's ``encoder.decode``."""
    import xgboost as xgb

    media = content_type.split(";", 1)[0].strip().lower()
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else str(body)
    if media == CSV:
        return xgb.DMatrix(_csv_matrix(text))
    if media in LIBSVM:
        from sklearn.datasets import load_svmlight_file

        features, _ = load_svmlight_file(io.BytesIO(text.encode()), zero_based=True)
        return xgb.DMatrix(features)
    raise UnsupportedFormatError(content_type)


def default_predict_fn(data: Any, model: Any) -> Any:
    """``model.predict(data, validate_features=False)``, as the XGBoost image does."""
    return model.predict(data, validate_features=False)


def _to_json(prediction: Any) -> str:
    return json.dumps(prediction, default=lambda o: o.tolist() if hasattr(o, "tolist") else o)


def _to_csv(prediction: Any) -> str:
    array = np.asarray(prediction)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    stream = io.StringIO()
    csv.writer(stream, lineterminator="\n").writerows(array)
    return stream.getvalue()


def _to_npy(prediction: Any) -> bytes:
    stream = io.BytesIO()
    np.save(stream, prediction)
    return stream.getvalue()


def default_output_fn(prediction: Any, accept: str) -> tuple[Any, str]:
    """JSON, CSV (one row per line) or NPY, with the accept type as the content type."""
    if accept == JSON:
        return _to_json(prediction), accept
    if accept == CSV:
        return _to_csv(prediction), accept
    if accept == NPY:
        return _to_npy(prediction), accept
    raise UnsupportedFormatError(accept)
