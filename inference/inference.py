"""SageMaker script-mode serving handlers for the XGBoost model (SAGEMAKER_PROGRAM=inference.py).

The container (sagemaker-containers Transformer, contract 3.5) calls `model_fn(model_dir)` once
per worker and then `transform_fn(model, body, content_type, accept)` per request. We define
transform_fn and NOT input_fn/predict_fn/output_fn: the container rejects the two styles together,
and only transform_fn can answer a bad request with a 4xx, because any exception raised by a hook
becomes a 500. The three steps still exist as pure functions (`decode`, `predict`, `encode`) that
tests and the local runtime can call one by one.

Requests (body is `str` for exactly `text/csv` / `application/json`, `bytes` otherwise):
  text/csv              rows of features, no label, no header; empty field = missing value
  application/json      {"instances": [[...], ...]}, [[...], ...], or one flat row [...]
  application/jsonlines one JSON row (list, or {"features": [...]}) per line
  text/libsvm           `[label] index:value ...` per line, 0-based indices, label ignored
Every row must have exactly the model's number of features: more columns is almost always a
label sent by mistake and fewer a dropped column, and XGBoost would silently predict garbage for
both. Use an empty CSV field, JSON null or a missing libsvm index for a missing value.

Responses, one record per input row in order (batch transform joins them; no trailing newline):
  binary        predicted_label, probability (of class 1)
  multi-class   predicted_label, probabilities (one per class)
  other         predicted_score (a list for multi-output models)
as `{"predictions": [{...}, ...]}` (application/json, the script-mode default Accept), one object
per line (application/jsonlines) or comma-separated values per line (text/csv).
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import xgboost as xgb

try:  # imported with the module, i.e. when a worker starts, not on the first large request
    import pandas as pd
except ImportError:  # the numpy path below handles every size, just more slowly
    pd = None

logger = logging.getLogger(__name__)

MODEL_FILE = "xgboost-model"
# Realtime InvokeEndpoint caps bodies at 6 MiB; batch transform says its own cap in this variable
# (0 there means chunked transfer, which has no fixed size: allow the 100 MB batch maximum).
_max_payload_mb = float(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB") or 6)
MAX_PAYLOAD_BYTES = int((_max_payload_mb if _max_payload_mb > 0 else 100) * 1024 * 1024)

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
LIBSVM = "text/libsvm"
_CONTENT_TYPES = {
    "text/csv": CSV,
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
}
_ACCEPTS = {
    "text/csv": CSV,
    "text/*": CSV,
    "application/json": JSON,
    "application/*": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
}
# The container substitutes this for a missing Accept or */*; we do the same for direct calls.
_env_accept = (os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON).split(";")[0]
DEFAULT_ACCEPT = _ACCEPTS.get(_env_accept.strip().lower(), JSON)

_PANDAS_MIN_ROWS = 64  # below this a str.split + np.array parse beats pandas' ~0.4 ms set-up


class RequestError(Exception):
    """A client mistake: becomes an HTTP 4xx with the message as the body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


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


# --------------------------------------------------------------------------- content negotiation


def media_type(header: str | None) -> str:
    """`Text/CSV; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";", 1)[0].strip().lower()


def request_format(content_type: str | None) -> str:
    """Our name for the body's format; a missing Content-Type is JSON, as in the container."""
    base = media_type(content_type) or JSON
    try:
        return _CONTENT_TYPES[base]
    except KeyError:
        raise RequestError(
            415,
            f"Unsupported Content-Type {content_type!r}; send one of text/csv, application/json, "
            "application/jsonlines, text/libsvm",
        ) from None


def response_format(accept: str | None) -> str:
    """First supported media range of the Accept header, in the order given (q ignored)."""
    if not accept or not accept.strip():
        return DEFAULT_ACCEPT
    for part in accept.split(","):
        base = media_type(part)
        if base == "*/*":
            return DEFAULT_ACCEPT
        if base in _ACCEPTS:
            return _ACCEPTS[base]
    raise RequestError(
        406,
        f"Unsupported Accept {accept!r}; accept one of text/csv, application/json, "
        "application/jsonlines",
    )


# --------------------------------------------------------------------------- decoding


def _text(body: Any) -> str:
    if isinstance(body, str):
        return body
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as e:
        raise RequestError(400, f"The body is not UTF-8 text: {e}") from None


def _width_error(row: int, got: int, expected: int, unit: str = "values") -> RequestError:
    hint = " (is the label included? send features only)" if got == expected + 1 else ""
    return RequestError(
        400,
        f"Row {row} has {got} {unit} but the model expects {expected} features{hint}; "
        "send exactly one value per feature (empty/null for a missing value)",
    )


def _csv_rows_slow(text: str, num_features: int) -> np.ndarray:
    """Line-by-line CSV parse: the fallback that names the bad line and column."""
    rows = []
    for line_no, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            raise RequestError(400, f"CSV line {line_no} is empty; send one row per line")
        fields = line.split(",")
        if len(fields) != num_features:
            raise _width_error(line_no, len(fields), num_features, "columns")
        row = []
        for column, field in enumerate(fields, start=1):
            token = field.strip()
            if not token:
                row.append(math.nan)
                continue
            try:
                row.append(float(token))
            except ValueError:
                shown = token if len(token) <= 40 else token[:40] + "..."
                raise RequestError(
                    400,
                    f"CSV line {line_no}, column {column} is {shown!r}, not a number "
                    "(send features only: no label, no header)",
                ) from None
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)


def _csv_fast(text: str, num_features: int) -> np.ndarray | None:
    """Vectorised parse of stripped, non-empty CSV text, or None if anything looks off (a short
    or long row, a non-numeric token, an empty field) and the careful path must decide."""
    rows = text.count("\n") + 1
    if text.count(",") != rows * (num_features - 1):  # cheap proof that no row is short or long
        return None
    try:
        if rows < _PANDAS_MIN_ROWS or pd is None:
            if rows > 1 and any(line.count(",") != num_features - 1 for line in text.split("\n")):
                return None
            flat = np.array(text.replace("\n", ",").split(","), dtype=np.float32)
            return flat.reshape(rows, num_features)
        frame = pd.read_csv(  # bytes: ~25% faster than a StringIO of the same text
            io.BytesIO(text.encode()),
            header=None,
            dtype=np.float32,
            engine="c",
            skip_blank_lines=False,
        )
        array = frame.to_numpy(dtype=np.float32)
        return array if array.shape == (rows, num_features) else None
    except (ValueError, TypeError):  # a non-numeric token, an empty field in the fast path, ...
        return None


def decode_csv(body: Any, num_features: int) -> np.ndarray:
    """CSV body -> float32 (rows, num_features); vectorised unless something is wrong."""
    text = _text(body).strip()
    if not text:
        raise RequestError(400, "The body is empty; send at least one CSV row")
    array = _csv_fast(text, num_features)
    return array if array is not None else _csv_rows_slow(text, num_features)


def _rows_from_json(rows: Any, num_features: int, where: str) -> np.ndarray:
    if not isinstance(rows, list) or not rows:
        raise RequestError(400, f"{where} must be a non-empty list of rows")
    if all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in rows):
        rows = [rows]  # one flat row (null = missing value)
    try:
        array = np.asarray(rows, dtype=np.float32)
        if array.ndim == 2 and array.shape[1] == num_features:
            return array
    except (ValueError, TypeError):
        pass
    # Slow path: normalise each row, accept null as missing, and name the first bad row.
    clean = np.empty((len(rows), num_features), dtype=np.float32)
    for i, row in enumerate(rows, start=1):
        if isinstance(row, dict):
            row = row.get("features")
        if not isinstance(row, list):
            raise RequestError(
                400,
                f"{where}: row {i} is not a list of numbers (or an object with a features list)",
            )
        if len(row) != num_features:
            raise _width_error(i, len(row), num_features)
        for j, value in enumerate(row, start=1):
            if value is None:
                clean[i - 1, j - 1] = np.nan
            elif isinstance(value, int | float) and not isinstance(value, bool):
                clean[i - 1, j - 1] = value
            else:
                raise RequestError(
                    400, f"{where}: row {i}, position {j} is {value!r}, not a number or null"
                )
    return clean


# Characters of a JSON matrix of plain numbers; anything else (null, NaN, strings, objects,
# newlines) takes the json.loads path.
_NOT_IN_NUMBER_MATRIX = str.maketrans("", "", "0123456789.-+eE,[] ")


def _json_matrix_as_csv(text: str) -> str | None:
    """``[[1,2],[3,4]]`` or ``{"instances": [[...], ...]}`` of plain numbers as CSV text
    (``1,2\n3,4``), or None for any other body.

    json.loads turns every number into a Python float (~4 ms for 1,000 x 20), while the CSV
    parser reads the same digits ~3x faster. Only number characters get through, and the
    caller keeps the result only if the CSV parser reads every value as a finite number with
    the right row width, so anything else json.loads would see differently (an empty value,
    a nested or ragged list, a stray bracket) takes the json.loads path. (Number spellings
    strict JSON forbids, like `01` or `.5`, are read as the numbers they spell.)
    """
    start, end = text.find("[["), text.rfind("]]")
    if start < 0 or end < start:
        return None
    head, tail = text[:start].replace(" ", ""), text[end + 2 :].strip()
    if (head, tail) not in (("", ""), ('{"instances":', "}")):
        return None
    inner = text[start + 2 : end]
    if inner.translate(_NOT_IN_NUMBER_MATRIX):
        return None
    csv_text = inner.replace(" ", "").replace("],[", "\n")
    if "+" in csv_text and csv_text.count("+") != csv_text.count("e+") + csv_text.count("E+"):
        return None
    return csv_text


def decode_json(body: Any, num_features: int) -> np.ndarray:
    if isinstance(body, str):
        csv_text = _json_matrix_as_csv(body)
        if csv_text is not None:
            array = _csv_fast(csv_text, num_features)
            if array is not None and np.isfinite(array).all():
                return array
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RequestError(400, f"The body is not valid JSON: {e}") from None
    if isinstance(payload, dict):
        if "instances" in payload:
            return _rows_from_json(payload["instances"], num_features, '"instances"')
        if "features" in payload:
            return _rows_from_json([payload["features"]], num_features, '"features"')
        raise RequestError(
            400,
            'JSON bodies are {"instances": [[...], ...]}, a list of rows, or one flat row; '
            f"got an object with keys {sorted(payload)[:10]}",
        )
    return _rows_from_json(payload, num_features, "The JSON body")


def decode_jsonlines(body: Any, num_features: int) -> np.ndarray:
    lines = [line for line in _text(body).split("\n") if line.strip()]
    if not lines:
        raise RequestError(400, "The body is empty; send one JSON row per line")
    try:
        rows = json.loads("[" + ",".join(lines) + "]")
    except json.JSONDecodeError:
        for number, line in enumerate(lines, start=1):
            try:
                json.loads(line)
            except json.JSONDecodeError as e:
                raise RequestError(
                    400, f"JSON Lines line {number} is not valid JSON: {e}"
                ) from None
        raise RequestError(400, "The body is not valid JSON Lines") from None
    rows = [row.get("features") if isinstance(row, dict) else row for row in rows]
    return _rows_from_json(rows, num_features, "JSON Lines")


def decode_libsvm(body: Any, num_features: int) -> np.ndarray:
    lines = [line for line in _text(body).strip().split("\n")]
    if not lines or not lines[0].strip():
        raise RequestError(400, "The body is empty; send one libsvm row per line")
    array = np.full((len(lines), num_features), np.nan, dtype=np.float32)
    for i, line in enumerate(lines):
        tokens = line.split()
        if not tokens:
            raise RequestError(400, f"libsvm line {i + 1} is empty; send one row per line")
        if ":" not in tokens[0]:
            tokens = tokens[1:]  # a label is allowed and ignored
        for token in tokens:
            index_text, _, value_text = token.partition(":")
            try:
                index, value = int(index_text), float(value_text)
            except ValueError:
                raise RequestError(
                    400, f"libsvm line {i + 1}: {token!r} is not index:value"
                ) from None
            if not 0 <= index < num_features:
                raise RequestError(
                    400,
                    f"libsvm line {i + 1}: feature index {index} is out of range; the model "
                    f"has {num_features} features (0-based indices 0..{num_features - 1})",
                )
            array[i, index] = value
    return array


_DECODERS = {CSV: decode_csv, JSON: decode_json, JSONLINES: decode_jsonlines, LIBSVM: decode_libsvm}


def decode(body: Any, content_type: str | None, num_features: int) -> np.ndarray:
    """Request body -> float32 array (rows, num_features), or RequestError (415/413/400)."""
    fmt = request_format(content_type)
    size = len(body)
    if isinstance(body, str) and MAX_PAYLOAD_BYTES // 4 < size <= MAX_PAYLOAD_BYTES:
        size = len(body.encode("utf-8"))
    if size > MAX_PAYLOAD_BYTES:
        raise RequestError(
            413,
            f"The body is {size} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes. Split the "
            "request, or use batch transform for large inputs",
        )
    return _DECODERS[fmt](body, num_features)


# --------------------------------------------------------------------------- predicting, encoding


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


def _row_templates(prediction: dict[str, np.ndarray]) -> tuple[np.ndarray, str, str]:
    """All outputs as one float64 matrix plus printf templates for one CSV row and one JSON
    record. Formatting every row with a single `template * n % values` is ~3x faster than
    json.dumps or per-value repr; %.9g round-trips float32, the precision XGBoost predicts in."""
    columns, csv_parts, json_parts = [], [], []
    for name, values in prediction.items():
        if values.ndim == 1:
            spec = "%d" if values.dtype.kind in "iub" else "%.9g"
            columns.append(values.reshape(-1, 1))
            csv_parts.append(spec)
            json_parts.append(f'"{name}":{spec}')
        else:
            specs = ",".join(["%.9g"] * values.shape[1])
            columns.append(values)
            csv_parts.append(specs)
            json_parts.append(f'"{name}":[{specs}]')
    matrix = np.hstack(columns).astype(np.float64)
    return matrix, ",".join(csv_parts), "{" + ",".join(json_parts) + "}"


def _records(prediction: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """Slow path for non-finite values: JSON has no NaN, so they become null."""

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value if value is None or math.isfinite(value) else None

    columns = {k: v.tolist() for k, v in prediction.items()}
    return [
        {k: clean(v) for k, v in zip(columns, values, strict=True)}
        for values in zip(*columns.values(), strict=True)
    ]


def encode(prediction: dict[str, np.ndarray], accept: str) -> str:
    """Prediction columns -> response text in the negotiated format, one record per row."""
    matrix, csv_row, json_row = _row_templates(prediction)
    rows = matrix.shape[0]
    values = tuple(matrix.ravel().tolist())
    if accept == CSV:
        return ((csv_row + "\n") * rows % values)[:-1]
    if not np.isfinite(matrix).all():
        records = _records(prediction)
        if accept == JSONLINES:
            return "\n".join(map(json.dumps, records))
        return json.dumps({"predictions": records})
    if accept == JSONLINES:
        return ((json_row + "\n") * rows % values)[:-1]
    return '{"predictions":[' + ((json_row + ",") * rows % values)[:-1] + "]}"


def _error_response(error: RequestError):
    """A flask.Response carries the status; the container sends it as is (contract 3.5)."""
    from flask import Response  # in the container, and only needed on the error path

    return Response(error.message, status=error.status, mimetype="text/plain")


def transform_fn(model: ServingModel, request_body: Any, content_type: str, accept: str):
    """The container's per-request hook: (body, mimetype) on success, a 4xx Response otherwise."""
    try:
        request_format(content_type)  # 415 before 406: the body is the bigger mistake
        fmt = response_format(accept)
        try:
            features = decode(request_body, content_type, model.num_features)
        except (ValueError, TypeError, OverflowError, RecursionError) as error:
            # Whatever the parsers did not foresee (JSON nested past the recursion limit,
            # integers too long or too large for a float) is still the client's body.
            raise RequestError(400, f"The body could not be parsed: {error}"[:1000]) from None
        return encode(predict(model, features), fmt), fmt
    except RequestError as error:
        return _error_response(error)
