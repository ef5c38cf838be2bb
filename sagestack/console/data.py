"""The console's data store: capped uploads, previews with warnings, the short path's split."""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sagestack.console import store
from sagestack.local import s3_input
from sagestack.local.channels import ChannelError, S3Location

MAX_UPLOAD_BYTES = 200 * 1024 * 1024
PREVIEW_ROWS = 8
_SCAN_LINES = 2000
_SUFFIXES = (".csv", ".libsvm", ".txt", ".parquet")
_LABEL_NAMES = ("label", "target", "y", "class")
_MAX_CLASSES = 20
CONTENT_TYPES = ("text/csv", "text/libsvm", "application/x-parquet")
VALIDATION_FRACTION = 0.2


class DataError(ValueError):
    """Data the console cannot use; the message is shown beside the field."""


def _safe_name(filename: str | None) -> str:
    name = Path(filename or "").name
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).stem).strip(".-")[:60] or "data"
    suffix = Path(name).suffix.lower()
    return stem + (suffix if suffix in _SUFFIXES else ".csv")


def save_upload(stream: BinaryIO, filename: str | None, cap: int = MAX_UPLOAD_BYTES) -> Path:
    """Copy an uploaded file into ``.sagestack/data/uploads/<random>/``, at most ``cap`` bytes.

    The client's file name is reduced to a safe base name; no path from the client is used.
    """
    target_dir = store.data_dir() / "uploads" / secrets.token_hex(8)
    target_dir.mkdir(parents=True)
    target = target_dir / _safe_name(filename)
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(1 << 20):
            written += len(chunk)
            if written > cap:
                out.close()
                target.unlink()
                target_dir.rmdir()
                raise DataError(f"the file is larger than the {cap // (1024 * 1024)} MiB limit")
            out.write(chunk)
    if written == 0:
        target.unlink()
        target_dir.rmdir()
        raise DataError("the uploaded file is empty")
    return target


def upload_by_id(upload_id: str) -> Path | None:
    """A previous upload, by the id the preview handed out (``<hex>/<name>``), or None."""
    if not re.fullmatch(r"[0-9a-f]{16}/[A-Za-z0-9._-]+", upload_id or ""):
        return None
    path = store.data_dir() / "uploads" / upload_id
    return path if path.is_file() else None


def upload_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def resolve_location(location: str) -> Path | S3Location:
    """A local path or file:// URI that exists, or an s3:// prefix that can be listed with
    this machine's AWS settings and holds objects (else the reason, shown beside the field)."""
    text = location.strip()
    if text.startswith("s3://"):
        try:
            source = S3Location.parse(text)
            s3_input.list_objects(source)
        except ChannelError as exc:
            raise DataError(str(exc)) from None
        return source
    if text.startswith("file://"):
        text = text[len("file://") :]
    if not text:
        raise DataError("give a location or upload a file")
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(f"{path} does not exist")
    return path.resolve()


def first_data_file(path: Path | S3Location) -> Path | None:
    """The file a preview or the short path reads: for s3://, the first object not hidden,
    fetched into the job cache (so the job that follows finds it there)."""
    if isinstance(path, S3Location):
        return _first_object(path)
    if path.is_file():
        return path
    files = sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return files[0] if files else None


def _first_object(location: S3Location) -> Path | None:
    try:
        client = s3_input.s3_client()
        listing = s3_input.list_objects(location, client)
        shown = [o for o in listing if not PurePosixPath(o.relative).name.startswith(".")]
        if not shown:
            return None
        preview = s3_input.fetch(location, channel="preview", objects=shown[:1], client=client)
        return preview.files[0][1]
    except ChannelError as exc:
        raise DataError(str(exc)) from None


_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(nan|inf|infinity)", re.I)


def _is_number(text: str) -> bool:
    return _NUMBER.fullmatch(text.strip()) is not None


@dataclass
class Preview:
    """The first rows of a channel and what would go wrong with them."""

    header: list[str] | None
    rows: list[list[str]]
    warnings: list[str] = field(default_factory=list)
    file: str = ""


def _labels_problem(labels: list[str], objective: str, num_class: str | None) -> str | None:
    if not objective:
        return None
    numbers = [float(v) for v in labels if _is_number(v)]
    if objective.startswith("binary:"):
        bad = sorted({v for v in numbers if v not in (0.0, 1.0)})
        if bad:
            return f"labels {bad[:5]} do not fit {objective}: it needs labels 0 and 1"
    if objective.startswith("multi:"):
        bad = sorted({v for v in numbers if v != int(v) or v < 0})
        try:
            limit = int(num_class) if num_class else None
        except ValueError:
            limit = None
        if limit is not None:
            bad += sorted({v for v in numbers if v >= limit and v == int(v)})
        if bad:
            return f"labels {bad[:5]} do not fit {objective}: it needs whole numbers 0..num_class-1"
    return None


def preview_csv(path: Path, objective: str = "", num_class: str | None = None) -> Preview:
    with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
        lines = [line for _, line in zip(range(_SCAN_LINES), handle, strict=False)]
    rows = [row for row in csv.reader(lines) if row]
    if not rows:
        raise DataError(f"{path.name} has no rows")
    header = None
    warnings = []
    first_numeric = all(_is_number(v) for v in rows[0])
    if not first_numeric and len(rows) > 1 and sum(_is_number(v) for v in rows[1]) > 0:
        header, rows = rows[0], rows[1:]
        warnings.append(
            "Row 1 looks like a header row "
            f"({', '.join(header[:4])}{'...' if len(header) > 4 else ''}); "
            "the built-in algorithm reads CSV without a header, so it would fail on it"
        )
        lowered = [h.strip().lower() for h in header]
        named = next((i for i, h in enumerate(lowered) if h in _LABEL_NAMES), None)
        if named not in (None, 0):
            warnings.append(
                f"The label column {header[named]!r} is column {named + 1}; "
                "the algorithm takes the label from column 1"
            )
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        expected = len(rows[0])
        ragged = next(i for i, r in enumerate(rows) if len(r) != expected)
        warnings.append(
            f"Ragged rows: row {ragged + 1 + (header is not None)} has {len(rows[ragged])} "
            f"values, row {1 + (header is not None)} has {expected}"
        )
    for index, row in enumerate(rows):
        bad = next((v for v in row if v.strip() and not _is_number(v)), None)
        if bad is not None:
            warnings.append(
                f"Non-numeric value {bad[:30]!r} in row {index + 1 + (header is not None)}; "
                "every value must be a number"
            )
            break
    problem = _labels_problem([r[0] for r in rows if r], objective, num_class)
    if problem:
        warnings.append(problem.capitalize())
    return Preview(header, rows[:PREVIEW_ROWS], warnings, path.name)


def preview(
    path: Path | S3Location, content_type: str, objective: str = "", num_class: str | None = None
) -> Preview:
    """Preview a channel's first file; DataError when it cannot be read at all."""
    data_file = first_data_file(path)
    if data_file is None:
        raise DataError(f"{path} holds no files")
    if content_type == "application/x-parquet" or data_file.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(data_file).slice(0, PREVIEW_ROWS)
        except Exception as exc:  # pyarrow raises several types for a non-parquet file
            raise DataError(f"{data_file.name} is not a readable parquet file: {exc}") from exc
        columns = table.column_names
        body = [[str(v) for v in row.values()] for row in table.to_pylist()]
        return Preview(columns, body, [], data_file.name)
    if content_type == "text/libsvm":
        with data_file.open("r", encoding="utf-8", errors="replace") as handle:
            lines = [
                line.rstrip("\n") for _, line in zip(range(PREVIEW_ROWS), handle, strict=False)
            ]
        warnings = [
            f"Line {i + 1} does not start with a numeric label"
            for i, line in enumerate(lines)
            if line and not _is_number(line.split(" ", 1)[0])
        ][:1]
        return Preview(None, [[line] for line in lines], warnings, data_file.name)
    return preview_csv(data_file, objective, num_class)


@dataclass
class Prepared:
    """The short path's result: channels written in the algorithm's CSV layout."""

    train: Path
    validation: Path
    objective: str
    num_class: int | None
    label: str
    classes: list[str] | None
    rows: tuple[int, int]
    notes: list[str]


def _label_index(columns: list[str], label: str) -> int:
    if label:
        if label in columns:
            return columns.index(label)
        if label.isdigit() and 1 <= int(label) <= len(columns):
            return int(label) - 1
        raise DataError(f"no column {label!r}; columns are {', '.join(columns[:12])}")
    lowered = [c.strip().lower() for c in columns]
    return next((i for i, c in enumerate(lowered) if c in _LABEL_NAMES), 0)


def infer_objective(labels: Any) -> tuple[str, int | None, list[str] | None]:
    """Two classes -> binary:logistic, several -> multi:softprob, else reg:squarederror."""
    import pandas as pd

    numeric = pd.to_numeric(labels, errors="coerce")
    distinct = labels.dropna().unique()
    is_classes = numeric.isna().any() or (
        bool((numeric == numeric.round()).all()) and len(distinct) <= _MAX_CLASSES
    )
    if not is_classes:
        return "reg:squarederror", None, None
    classes = sorted(distinct, key=lambda v: (str(type(v)), v))
    if len(classes) < 2:
        raise DataError("the label column has a single value; nothing to learn")
    if len(classes) == 2:
        return "binary:logistic", None, [str(c) for c in classes]
    return "multi:softprob", len(classes), [str(c) for c in classes]


def prepare(source: Path | S3Location, name: str, label: str = "", seed: int = 0) -> Prepared:
    """Read a CSV (with or without a header), put the label first, hold out a validation split."""
    import numpy as np
    import pandas as pd

    data_file = first_data_file(source)
    if data_file is None:
        raise DataError(f"{source} holds no files")
    if data_file.suffix == ".parquet":
        try:
            frame = pd.read_parquet(data_file)
        except Exception as exc:  # pyarrow's many error types for a bad file
            raise DataError(f"{data_file.name} is not a readable parquet file: {exc}") from exc
    else:
        shape = preview_csv(data_file)
        try:
            frame = pd.read_csv(data_file, header=0 if shape.header else None)
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise DataError(f"{data_file.name} is not a readable CSV file: {exc}") from exc
        if shape.header is None:
            frame.columns = [f"column {i + 1}" for i in range(frame.shape[1])]
    frame.columns = [str(c) for c in frame.columns]
    if frame.shape[1] < 2:
        raise DataError("the data needs a label column and at least one feature column")
    if len(frame) < 10:
        raise DataError(f"{len(frame)} rows is too few to hold out a validation split")
    index = _label_index(list(frame.columns), label)
    label_name = frame.columns[index]
    labels = frame[label_name]
    features = frame.drop(columns=[label_name])
    non_numeric = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if non_numeric:
        raise DataError(
            f"non-numeric feature column(s) {', '.join(non_numeric[:5])}; "
            "XGBoost needs numbers (encode them first)"
        )
    if labels.isna().any():
        raise DataError(f"the label column {label_name!r} has empty values")
    objective, num_class, classes = infer_objective(labels)
    notes = [f"Label: column {label_name!r}; {features.shape[1]} feature columns."]
    if classes is not None:
        mapping = {c: i for i, c in enumerate(classes)}
        y = labels.astype(str).map(mapping).astype(np.float64)
        if classes != [str(i) for i in range(len(classes))] and classes != [
            f"{float(i)}" for i in range(len(classes))
        ]:
            notes.append(
                "Classes mapped to labels: " + ", ".join(f"{c} -> {i}" for c, i in mapping.items())
            )
    else:
        y = pd.to_numeric(labels).astype(np.float64)
    table = np.column_stack([y.to_numpy(), features.to_numpy(dtype=np.float64)])
    order = np.random.default_rng(seed).permutation(len(table))
    cut = max(1, int(round(len(table) * VALIDATION_FRACTION)))
    valid, train = table[order[:cut]], table[order[cut:]]
    root = store.data_dir() / "prepared" / name
    paths = {}
    for channel, rows in (("train", train), ("validation", valid)):
        (root / channel).mkdir(parents=True, exist_ok=True)
        path = root / channel / f"{channel}.csv"
        buffer = io.StringIO()
        np.savetxt(buffer, rows, delimiter=",", fmt="%.10g")
        path.write_text(buffer.getvalue(), encoding="utf-8")
        paths[channel] = path.parent
    notes.append(
        f"Objective {objective} inferred from the label column"
        + (f" ({num_class} classes)" if num_class else "")
        + f"; {len(valid)} of {len(table)} rows held out for validation."
    )
    return Prepared(
        paths["train"],
        paths["validation"],
        objective,
        num_class,
        label_name,
        classes,
        (len(train), len(valid)),
        notes,
    )
