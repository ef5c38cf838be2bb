"""A channel's rows as numpy arrays, and the CSV/JSON codecs a Model uses on both sides of HTTP.

Shipped into SageMaker containers next to the user's module: numpy and the standard library only.
"""

from __future__ import annotations

import io
import json
import math
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

CSV = "text/csv"
JSON = "application/json"
# The same advice as train.py's (training/csv_loading.py), for a label that is a class name.
_LABEL_HINT = (
    "Labels must be numbers (class labels 0..K-1 for K classes). Encode string classes first, "
    "e.g. codes, classes = pandas.factorize(df[0]), and keep classes to decode predictions"
)
_CSV_HINT = "CSV channels need the label in the first column, numbers only and no header row"


class MediaTypeError(ValueError):
    """A body or channel in a format the model does not read or write.

    ``status`` is the HTTP status a serving handler should answer with: 415 for a request
    Content-Type, 406 for an Accept type.
    """

    def __init__(self, message: str, status: int = 415) -> None:
        super().__init__(message)
        self.status = status


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` -> ``text/csv`` (parameters and case do not matter)."""
    return (header or "").split(";", 1)[0].strip().lower()


@dataclass(frozen=True, eq=False)
class Dataset:
    """One training channel: ``features`` (rows x columns) and ``labels`` (one per row).

    Read from CSV files with the label in the first column and no header, the layout of
    SageMaker's built-in algorithms, so one set of files feeds the bundled XGBoost model and any
    subclass. ``files`` lists what was read, in order. ``X`` and ``y`` are aliases.
    """

    features: np.ndarray
    labels: np.ndarray
    files: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.features.ndim != 2:
            raise ValueError(f"features must be 2-D (rows x columns), got {self.features.shape}")
        if self.labels.ndim != 1 or len(self.labels) != len(self.features):
            raise ValueError(
                f"labels must be 1-D with one value per row: {self.labels.shape} labels for "
                f"{len(self.features)} rows"
            )

    @property
    def X(self) -> np.ndarray:  # noqa: N802 - the scikit-learn spelling users expect
        return self.features

    @property
    def y(self) -> np.ndarray:
        return self.labels

    @property
    def num_features(self) -> int:
        return int(self.features.shape[1])

    def __len__(self) -> int:
        return int(self.features.shape[0])

    @classmethod
    def from_arrays(cls, features: Any, labels: Any) -> Dataset:
        return cls(np.asarray(features, dtype=np.float64), np.asarray(labels, dtype=np.float64))

    @classmethod
    def from_csv(cls, path: str | os.PathLike[str]) -> Dataset:
        """All CSV files of a channel directory (or one file), label first, no header.

        Files and directories whose names start with ``.`` or ``_`` are skipped, as SageMaker's
        own containers do (``_SUCCESS`` markers, ``.crc`` files). Empty fields are NaN.
        """
        files = data_files(path)
        if not files:
            raise ValueError(f"no data files in {os.fspath(path)}")
        tables = [table for table in (_read_csv_file(f) for f in files) if table.size]
        if not tables:
            raise ValueError(f"the data files in {os.fspath(path)} hold no rows")
        widths = {t.shape[1] for t in tables}
        if len(widths) > 1:
            raise ValueError(f"the files in {os.fspath(path)} have different widths {widths}")
        table = np.vstack(tables) if len(tables) > 1 else tables[0]
        if table.shape[1] < 2:
            raise ValueError(f"{files[0]}: one column only; {_CSV_HINT}")
        return cls(table[:, 1:], table[:, 0], tuple(files))


def data_files(path: str | os.PathLike[str]) -> list[str]:
    """Data files under ``path`` in S3 key order, without ``.``/``_``-prefixed names."""
    root = os.fspath(path)
    if os.path.isfile(root):
        return [root]
    found: list[str] = []
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found.extend(os.path.join(directory, n) for n in names if not n.startswith((".", "_")))
    return sorted(found, key=lambda p: os.path.relpath(p, root).replace(os.sep, "/"))


def _read_csv_file(path: str) -> np.ndarray:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        return parse_csv(text)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}; {_CSV_HINT}") from None


def _to_float(token: str) -> float:
    token = token.strip()
    return float(token) if token else math.nan


def parse_csv(text: str) -> np.ndarray:
    """Rows of numbers as a 2-D float64 array; empty fields are NaN, blank lines are skipped.

    numpy's C parser reads well-formed text; anything it rejects is read again line by line
    so the error names the line and column.
    """
    text = text.strip()
    if not text:
        return np.empty((0, 0))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError:
        pass
    rows: list[list[float]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        tokens = line.split(",")
        try:
            row = [_to_float(t) for t in tokens]
        except ValueError:
            column = next(i for i, t in enumerate(tokens, 1) if not _is_number(t))
            where = f"line {number}, column {column}: {tokens[column - 1].strip()!r}"
            if column == 1 and all(_is_number(t) for t in tokens[1:]):
                raise ValueError(f"{where} is not a number. {_LABEL_HINT}") from None
            raise ValueError(f"{where} is not a number") from None
        if rows and len(row) != len(rows[0]):
            raise ValueError(f"line {number} has {len(row)} columns, the first has {len(rows[0])}")
        rows.append(row)
    return np.asarray(rows, dtype=np.float64)


def _is_number(token: str) -> bool:
    try:
        _to_float(token)
    except ValueError:
        return False
    return True


def _cell(value: Any, missing: str) -> str:
    if isinstance(value, float):
        return missing if math.isnan(value) else repr(value)
    return str(value)


def format_csv(values: Any, missing: str = "") -> str:
    """One line per row (a 1-D array is one value per line), shortest exact floats.

    NaN is written as ``missing``: an empty field in feature rows (what SageMaker's
    containers read as a missing value), ``nan`` in responses, where an empty last line
    would be lost.
    """
    array = np.asarray(values)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(-1, 1)
    elif array.ndim > 2:
        raise ValueError(f"cannot write a {array.ndim}-D array as CSV rows")
    rows: Iterable[list[Any]] = array.tolist()
    return "\n".join(",".join(_cell(v, missing) for v in row) for row in rows)


def features_matrix(rows: Any) -> np.ndarray:
    """Feature rows as a 2-D float array: one flat row becomes a 1-row matrix."""
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"feature rows must be 1-D or 2-D, got shape {array.shape}")
    return array


def decode_features(body: str | bytes, content_type: str | None) -> np.ndarray:
    """A request body (``text/csv`` rows, or JSON ``{"instances": rows}`` / ``rows``)."""
    kind = media_type(content_type) or CSV
    text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else str(body)
    if kind == CSV:
        matrix = parse_csv(text)
    elif kind == JSON:
        payload = json.loads(text)
        if isinstance(payload, dict):
            if "instances" not in payload:
                raise ValueError('a JSON object body needs an "instances" list of rows')
            payload = payload["instances"]
        matrix = features_matrix(payload) if payload else np.empty((0, 0))
    else:
        raise MediaTypeError(
            f"Content-Type {content_type!r} is not supported; send {CSV} or {JSON}"
        )
    if matrix.size == 0:
        raise ValueError("the request has no rows")
    return matrix


def encode_predictions(predictions: Any, accept: str | None) -> tuple[str, str]:
    """``(body, content_type)``: CSV one row per line, or JSON ``{"predictions": [...]}``."""
    kind = media_type(accept)
    if kind in ("", "*/*", CSV, "text/*"):
        return format_csv(predictions, missing="nan"), CSV
    if kind in (JSON, "application/*"):
        return json.dumps({"predictions": np.asarray(predictions).tolist()}), JSON
    raise MediaTypeError(f"Accept {accept!r} is not supported; ask for {CSV} or {JSON}", 406)


def decode_predictions(body: bytes, content_type: str | None) -> np.ndarray:
    """The client side of :func:`encode_predictions`; a single column comes back 1-D."""
    text = body.decode("utf-8")
    if media_type(content_type) == JSON:
        payload = json.loads(text)
        values = payload.get("predictions", payload) if isinstance(payload, dict) else payload
        return np.asarray(values)
    lines = [line.split(",") for line in text.strip().splitlines()]
    try:
        array = np.asarray([[_to_float(v) for v in line] for line in lines], dtype=np.float64)
    except ValueError:
        array = np.asarray(lines, dtype=object)
    return array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array
