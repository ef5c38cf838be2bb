"""Request bodies to float32 feature rows (CSV, JSON, JSON Lines, libsvm), or a 400/413.

Requests (body is `str` for exactly `text/csv` / `application/json`, `bytes` otherwise, as
sagemaker-containers' `_worker.Request.content` hands it over):
  text/csv              rows of features, no label, no header; empty field = missing value
  application/json      {"instances": [[...], ...]}, [[...], ...], or one flat row [...]
  application/jsonlines one JSON row (list, or {"features": [...]}) per line
  text/libsvm           `[label] index:value ...` per line, 0-based indices, label ignored
Every row must have exactly the model's number of features: more columns is almost always a
label sent by mistake and fewer a dropped column, and XGBoost would silently predict garbage for
both. Use an empty CSV field, JSON null or a missing libsvm index for a missing value.
"""

from __future__ import annotations

import io
import json
import math
import os
from typing import Any

import numpy as np
from negotiation import CSV, JSON, JSONLINES, LIBSVM, RequestError, request_format

try:  # imported with the module, i.e. when a worker starts, not on the first large request
    import pandas as pd
except ImportError:  # the numpy path below handles every size, just more slowly
    pd = None

# Realtime InvokeEndpoint caps bodies at 6 MiB; batch transform says its own cap in this variable
# (0 there means chunked transfer, which has no fixed size: allow the 100 MB batch maximum).
_max_payload_mb = float(os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB") or 6)
MAX_PAYLOAD_BYTES = int((_max_payload_mb if _max_payload_mb > 0 else 100) * 1024 * 1024)
# The most values one request may decode to: what a CSV body at the payload limit holds at most
# (every value takes at least one byte, its comma or newline), 24 MiB of float32 at 6 MiB. A
# sparse format says nothing about the values it leaves out, so its rows are checked against
# this before the dense array is made: 4-byte libsvm lines for a 200-feature model would
# otherwise make 200 bytes of array per body byte.
MAX_VALUES = MAX_PAYLOAD_BYTES

_PANDAS_MIN_ROWS = 64  # below this a str.split + np.array parse beats pandas' ~0.4 ms set-up


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
    normalised = []
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
        normalised.append(row)
    # Allocated only once every row is known to hold its values, so never larger than what the
    # body spells out (a body of empty rows would otherwise size it at rows x features).
    clean = np.empty((len(normalised), num_features), dtype=np.float32)
    for i, row in enumerate(normalised, start=1):
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
        raise RequestError(
            400,
            f"The body is not valid JSON: {e}. For CSV send Content-Type: text/csv (a request "
            "without a Content-Type is read as application/json)",
        ) from None
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
    text = _text(body).strip()
    if not text:
        raise RequestError(400, "The body is empty; send one libsvm row per line")
    rows = text.count("\n") + 1  # before any list or array is made for them
    if rows * num_features > MAX_VALUES:
        raise RequestError(
            413,
            f"The libsvm body has {rows} rows of {num_features} features, "
            f"{rows * num_features} values; the limit is {MAX_VALUES} values (what a CSV "
            f"body at the {MAX_PAYLOAD_BYTES}-byte payload limit can hold). Send at most "
            f"{MAX_VALUES // num_features} rows per request, or use batch transform",
        )
    lines = text.split("\n")
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
