"""Channel files to a validated DMatrix: fast on good data, a precise sentence on bad data.

CSV and libsvm go through XGBoost's own multi-threaded text loader, the fastest and leanest way to
a DMatrix here (1M x 20 CSV: ~0.9 s and ~470 MB peak, against ~1.4 s and ~750 MB through
pyarrow + numpy). That loader is silent about bad data: a non-numeric token, a short row or a
header becomes a missing value, `3x` becomes 3 and an empty label becomes 0. So for CSV:

* a byte scan runs in a thread while XGBoost parses (ctypes releases the GIL, so it is almost
  free): any byte that cannot be part of a number, or a line that starts with the delimiter
  (empty label), flags the file;
* after loading, `num_nonmissing == rows * cols` proves every row was full and numeric;
* only when one of these trips do we re-read the file in Python to name the file, line and
  column. Data with genuinely missing values (empty fields) pays for one vectorised width check.

libsvm is checked with one regex per chunk *before* loading, because XGBoost's libsvm parser
crashes the process on some malformed lines instead of raising.
"""

from __future__ import annotations

import math
import os
import re
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sm_constants as c
import xgboost as xgb
from job_errors import UserError

_CHUNK_BYTES = 8 << 20
_HEAD_BYTES = 64 << 10
_NUMERIC_BYTES = b"0123456789+-.eE \t\r\nnaNA"  # digits, signs, exponents, nan/NA, whitespace
# Byte sequences that may belong to no number (`1..2`, `--1`, `1e5e5`, a lone `.`, `NA`, `1e999`)
# although every byte is allowed: a match sends the file to the full, field-by-field diagnosis.
_SUSPECT = re.compile(
    rb"\.[0-9]*\.|[-+][-+.]?[-+]|[eE][0-9]*[eE.]|[eE](?![-+]?[0-9])|(?<![0-9])\.(?![0-9])"
    rb"|[aAnN]|[0-9][-+]|[eE][-+]?[0-9]{3}"
)
_CSV_HINT = "CSV channels need the label in column 1, numeric values only and no header row"

_DEPRECATION = r".*Text file input has been deprecated.*"


def _text_dmatrix(uri: str) -> xgb.DMatrix:
    """xgboost 3.1+ warns that text input is deprecated; it is still its fastest loader in 3.2."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_DEPRECATION)
        return xgb.DMatrix(uri)


@dataclass
class ChannelData:
    """One channel's DMatrix plus enough bookkeeping to point at a bad row's file and line."""

    name: str
    fmt: str
    dmatrix: xgb.DMatrix
    files: list[str]
    rows_per_file: list[int] = field(default_factory=list)

    @property
    def num_rows(self) -> int:
        return int(self.dmatrix.num_row())

    @property
    def num_features(self) -> int:
        return int(self.dmatrix.num_col())

    def locate(self, row: int) -> tuple[str, int]:
        """Global row index -> (file, 0-based record index inside that file)."""
        for path, count in zip(self.files, self.rows_per_file, strict=True):
            if row < count:
                return path, row
            row -= count
        return self.files[-1], row


# --------------------------------------------------------------------------- channel layout


def data_files(channel_dir: str) -> list[str]:
    """Every data file under a channel, sorted; names starting with `.` or `_` are skipped, as
    the built-in algorithm skips them (`_SUCCESS`, `.ipynb_checkpoints`, ...)."""
    found = []
    for root, dirs, files in os.walk(channel_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(files):
            if not name.startswith((".", "_")):
                found.append(os.path.join(root, name))
    return found


def channel_format(input_data_config: dict[str, Any], channel: str) -> str:
    """`csv`, `libsvm` or `parquet` from the channel's ContentType (parameters ignored)."""
    spec = input_data_config.get(channel) or {}
    if spec.get("TrainingInputMode") == "Pipe":
        raise UserError(
            f"Channel {channel!r} uses Pipe input mode, which this script does not read; "
            "use File or FastFile"
        )
    content_type = spec.get("ContentType") or c.DEFAULT_CONTENT_TYPE
    key = content_type.split(";", 1)[0].strip().lower()
    if key not in c.CONTENT_TYPE_FORMATS:
        raise UserError(
            f"Channel {channel!r} has ContentType {content_type!r}; use one of "
            f"{', '.join(sorted(c.CONTENT_TYPE_FORMATS))}"
        )
    return c.CONTENT_TYPE_FORMATS[key]


# --------------------------------------------------------------------------- CSV


def sniff_delimiter(line: str) -> str:
    """The built-in algorithm sniffs the delimiter from the first line; we allow the usual four."""
    for delimiter in (",", "\t", ";", "|"):
        if delimiter in line:
            return delimiter
    return ","


def _first_line(path: str) -> tuple[str, int]:
    """First non-blank line and its 1-based number; UserError if the file has no content."""
    if os.path.getsize(path) == 0:
        raise UserError(
            f"{path} is empty; remove it or give it rows (files starting with . or _ are ignored)"
        )
    with open(path, "rb") as f:
        head = f.read(_HEAD_BYTES)
    for number, raw in enumerate(head.split(b"\n"), start=1):
        if raw.strip():
            return raw.decode("utf-8", errors="replace").rstrip("\r"), number
    raise UserError(f"{path} holds only blank lines; give it rows or remove it")


def _field_problem(
    path: str, line_no: int, fields: Sequence[str], expected: int | None, required: int
) -> str | None:
    """Why one CSV line is unusable, or None. `required` leading columns (label, weight) may
    not be empty; other empty fields are missing values, which XGBoost handles."""
    if expected is not None and len(fields) != expected:
        return (
            f"{path}: line {line_no} has {len(fields)} fields but the first row has {expected}; "
            "every row needs the label plus the same number of features"
        )
    for index, raw in enumerate(fields):
        token = raw.strip()
        what = "the label" if index == 0 else ("the weight" if index < required else "a feature")
        if not token:
            if index < required:
                return (
                    f"{path}: line {line_no}, column {index + 1} ({what}) is empty; "
                    "every row needs a label"
                )
            continue
        try:
            value = float(token)
        except ValueError:
            hint = " (a header row? remove it)" if line_no == 1 else ""
            shown = token if len(token) <= 40 else token[:40] + "..."
            return (
                f"{path}: line {line_no}, column {index + 1} ({what}) is {shown!r}, not a "
                f"number{hint}. {_CSV_HINT}"
            )
        if math.isinf(value):
            return (
                f"{path}: line {line_no}, column {index + 1} ({what}) is infinite; "
                "use an empty field for a missing value"
            )
    return None


def diagnose_csv(path: str, delimiter: str, required: int = 1) -> str | None:
    """The first bad line of a CSV file as a one-line reason, or None if every line is usable.

    Python-speed, so it only runs after a cheap check has already found something wrong.
    """
    expected = None
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split(delimiter)
            problem = _field_problem(path, line_no, fields, expected, required)
            if problem:
                return problem
            expected = expected or len(fields)
    return None


def first_ragged_line(path: str, delimiter: str) -> tuple[int, int, int] | None:
    """(line, fields, expected fields) of the first row whose width differs from the first row.

    Vectorised per chunk (count delimiters between newlines), so a 1M-row file with genuine
    missing values costs a fraction of a second rather than a Python loop over every field.
    """
    delim = ord(delimiter)
    expected = None
    for lines_before, data in _whole_line_blocks(path):
        a = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(a == 10)
        starts = np.empty_like(ends)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        delims = np.flatnonzero(a == delim)
        counts = np.searchsorted(delims, ends) - np.searchsorted(delims, starts)
        lengths = ends - starts
        blank = (lengths == 0) | ((lengths == 1) & (a[np.minimum(starts, len(a) - 1)] == 13))
        nonblank = np.flatnonzero(~blank)
        if nonblank.size:
            if expected is None:
                expected = int(counts[nonblank[0]])
            bad = nonblank[counts[nonblank] != expected]
            if bad.size:
                i = int(bad[0])
                return lines_before + i + 1, int(counts[i]) + 1, expected + 1
    return None


def _whole_line_blocks(path: str) -> Iterator[tuple[int, bytes]]:
    """(lines before it, block) for ~8 MB blocks of the file, each ending at a newline (one is
    added after a last line without it), so a line never straddles two blocks."""
    lines_before = 0
    carry = b""
    with open(path, "rb") as f:
        while True:
            block = f.read(_CHUNK_BYTES)
            data = carry + block
            if block:
                cut = data.rfind(b"\n") + 1
                data, carry = data[:cut], data[cut:]
            elif data and not data.endswith(b"\n"):
                data += b"\n"
            if data:
                yield lines_before, data
                lines_before += data.count(b"\n")
            if not block:
                return


# Byte -> class for number_shaped_junk: 0 other (delimiter, whitespace), 1 digit, 2 dot,
# 3 sign, 4 e/E, 5 a/A/n/N.
_CLASSES = bytearray(256)
for _chars, _class in ((b"0123456789", 1), (b".", 2), (b"+-", 3), (b"eE", 4), (b"aAnN", 5)):
    for _byte in _chars:
        _CLASSES[_byte] = _class
_BYTE_CLASSES = bytes(_CLASSES)
del _CLASSES, _chars, _class, _byte


def number_shaped_junk(block: bytes) -> bool:
    """``_SUSPECT.search(block)`` for a block of allowed bytes, vectorised with numpy.

    The regex reads ~10 MB/s, so a 185 MB file took ~15-20 s in the scan thread, which the
    load then waited for (against ~1 s for XGBoost's parse); this reads ~300 MB/s. Only the
    bytes `_ByteScan` allows are classified; tests check it agrees with the regex.
    """
    # Padded with "other" at both ends: the regex's lookarounds see nothing there either.
    c = np.frombuffer(b"\0" + block.translate(_BYTE_CLASSES) + b"\0", dtype=np.uint8)
    if (c == 5).any():  # [aAnN]
        return True
    d, p, s, e = c == 1, c == 2, c == 3, c == 4
    nd = ~d
    if (s[1:] & (s | d)[:-1]).any():  # [-+][-+] and [0-9][-+]
        return True
    if (e[:-1] & ~(d | s)[1:]).any() or (e[:-2] & s[1:-1] & nd[2:]).any():
        return True  # [eE](?![-+]?[0-9])
    if (p[1:-1] & nd[:-2] & nd[2:]).any():  # (?<![0-9])\.(?![0-9]), which covers [-+]\.[-+]
        return True
    if (e[:-3] & d[1:-2] & d[2:-1] & d[3:]).any():  # [eE][-+]?[0-9]{3}
        return True
    if (e[:-4] & s[1:-3] & d[2:-2] & d[3:-1] & d[4:]).any():
        return True
    # \.[0-9]*\. and [eE][0-9]*[eE.]: consecutive non-digits, only digits between them.
    others = c[np.flatnonzero(nd)]
    first, second = others[:-1], others[1:]
    return bool(
        (((first == 2) | (first == 4)) & (second == 2) | (first == 4) & (second == 4)).any()
    )


class _ByteScan(threading.Thread):
    """Flags bytes that cannot belong to a number and lines starting with the delimiter."""

    def __init__(self, path: str, delimiter: str):
        super().__init__(daemon=True)
        self.path = path
        self.allowed = _NUMERIC_BYTES + delimiter.encode()
        self.empty_label = b"\n" + delimiter.encode()
        self.flagged = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with open(self.path, "rb") as f:
                previous = b"\n"
                while not self.flagged:
                    block = f.read(_CHUNK_BYTES)
                    if not block:
                        return
                    starts_line_empty = previous == b"\n" and block.startswith(self.empty_label[1:])
                    if (
                        starts_line_empty
                        or self.empty_label in block
                        or block.translate(None, self.allowed)
                        or number_shaped_junk(block)
                    ):
                        self.flagged = True
                    previous = block[-1:]
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            self.error = e


def _xgboost_message(error: Exception) -> str:
    """XGBoost errors carry a timestamp, a source path and a stack trace; keep the sentence."""
    lines = [ln for ln in str(error).splitlines() if ln.strip() and "[bt]" not in ln]
    text = lines[0] if lines else str(error)
    text = re.sub(r"^\[[0-9:]+\] [^ ]+:\d+: ", "", text)
    return text.replace("Stack trace:", "").strip()


def load_csv_file(path: str, csv_weights: bool = False) -> tuple[xgb.DMatrix, int]:
    """One CSV file (label first, optional weight second, no header) -> (DMatrix, width)."""
    first, first_no = _first_line(path)
    delimiter = sniff_delimiter(first)
    required = 2 if csv_weights else 1
    fields = first.split(delimiter)
    if len(fields) <= required:
        raise UserError(
            f"{path}: line {first_no} has {len(fields)} field(s); need the label"
            f"{' and weight' if csv_weights else ''} plus at least one feature. {_CSV_HINT}"
        )
    problem = _field_problem(path, first_no, fields, None, required)  # headers fail here, early
    if problem:
        raise UserError(problem)

    uri = f"{path}?format=csv&label_column=0"
    if delimiter != ",":
        uri += f"&delimiter={delimiter}"
    if csv_weights:
        uri += "&weight_column=1"
    scan = _ByteScan(path, delimiter)
    scan.start()
    try:
        dmatrix = _text_dmatrix(uri)
    except xgb.core.XGBoostError as e:
        scan.join()
        raise UserError(
            diagnose_csv(path, delimiter, required) or f"{path}: {_xgboost_message(e)}"
        ) from e
    scan.join()
    if scan.error:
        raise scan.error
    if scan.flagged:
        problem = diagnose_csv(path, delimiter, required)
        if problem:
            raise UserError(problem)
    width = len(fields) - required
    rows, cols = dmatrix.num_row(), dmatrix.num_col()
    if dmatrix.num_nonmissing() != rows * cols or cols != width:
        ragged = first_ragged_line(path, delimiter)
        if ragged:
            line, got, want = ragged
            raise UserError(
                f"{path}: line {line} has {got} fields but the first row has {want}; "
                "every row needs the label plus the same number of features"
            )
        # Otherwise the gaps are empty fields: genuine missing values.
    return dmatrix, width


# --------------------------------------------------------------------------- libsvm

# Character classes rather than a full number grammar: ~5x faster in `re` (~25 MB/s here), and
# still rejects every shape that makes XGBoost's parser crash or silently drop a label/feature.
_VALUE = rb"[-+.0-9eE]+|[-+]?(?:nan|NaN|NAN|inf|Inf)"
_LIBSVM_LINE = (
    rb"[ \t]*(?:[-+.0-9eE]+(?::[-+.0-9eE]+)?"  # label[:weight]
    rb"(?:[ \t]+(?:qid:)?[0-9]+:[-+.0-9eEnaNAifI]+)*)?[ \t]*\r?"  # index:value ...
)
# Number-shaped junk the character classes let through (`1..2`, `--1`, `1e5e5`, a lone `.`, `NA`);
# plain alternatives, so the search stays linear however a line is broken.
_LIBSVM_SUSPECT = re.compile(
    rb"\.[0-9]*\.|[-+][-+.]?[-+]|[eE][0-9]*[eE.]|[eE](?![-+]?[0-9])|(?<![0-9])\.(?![0-9])"
    rb"|[0-9][-+]|NA(?!N)"
)
_LIBSVM_BLOCK = re.compile(rb"(?:" + _LIBSVM_LINE + rb"\n)*")
_LIBSVM_ONE_LINE = re.compile(_LIBSVM_LINE)
_LIBSVM_FEATURE = re.compile(rb"(?:qid:)?[0-9]+:(?:" + _VALUE + rb")")
_LIBSVM_LABEL = re.compile(rb"[-+.0-9eE]+(?::[-+.0-9eE]+)?")


def _libsvm_line_problem(path: str, line_no: int, raw: bytes) -> str:
    tokens = raw.split()
    hint = ""
    if b"," in raw:
        hint = (
            " This looks like CSV: set the channel's ContentType to text/csv "
            "(a channel without ContentType is read as libsvm)"
        )
    if tokens and (b":" in tokens[0] and not _LIBSVM_LABEL.fullmatch(tokens[0])):
        shown = tokens[0].decode(errors="replace")[:40]
        return (
            f"{path}: line {line_no} starts with {shown!r}, not a label; libsvm lines are "
            f"`label index:value ...`.{hint}"
        )
    for position, token in enumerate(tokens, start=1):
        pattern = _LIBSVM_LABEL if position == 1 else _LIBSVM_FEATURE
        if not pattern.fullmatch(token):
            what = "label" if position == 1 else "index:value pair"
            shown = token.decode(errors="replace")[:40]
            return (
                f"{path}: line {line_no}, token {position} is {shown!r}, not a valid {what}; "
                f"libsvm lines are `label index:value ...` with numeric values.{hint}"
            )
    return f"{path}: line {line_no} is not valid libsvm.{hint}"


def diagnose_libsvm(path: str) -> str | None:
    """First malformed libsvm line, found one regex per chunk and a line loop only on failure."""
    for lines_before, data in _whole_line_blocks(path):
        if not _LIBSVM_BLOCK.fullmatch(data) or _LIBSVM_SUSPECT.search(data):
            for offset, raw in enumerate(data.split(b"\n")[:-1], start=1):
                if not _LIBSVM_ONE_LINE.fullmatch(raw) or _LIBSVM_SUSPECT.search(raw):
                    return _libsvm_line_problem(path, lines_before + offset, raw)
    return None


def load_libsvm_file(path: str) -> xgb.DMatrix:
    _first_line(path)
    problem = diagnose_libsvm(path)
    if problem:
        raise UserError(problem)
    try:
        return _text_dmatrix(f"{path}?format=libsvm")
    except xgb.core.XGBoostError as e:
        raise UserError(f"{path}: {_xgboost_message(e)}") from e


# --------------------------------------------------------------------------- parquet


def load_parquet_file(path: str) -> tuple[np.ndarray, np.ndarray]:
    """(features float32, labels float32) from a parquet file whose first column is the label."""
    import pyarrow as pa  # the container ships pyarrow; imported here so CSV jobs never pay for it
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if os.path.getsize(path) == 0:
        raise UserError(f"{path} is empty; remove it or give it rows")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise UserError(f"{path} is not a readable parquet file: {e}") from e
    if table.num_columns < 2:
        raise UserError(
            f"{path} has {table.num_columns} column(s); need the label first plus features"
        )
    if table.num_rows == 0:
        raise UserError(f"{path} has no rows")
    columns = []
    for index, (name, column) in enumerate(zip(table.column_names, table.columns, strict=True)):
        kind = column.type
        if not (
            pa.types.is_integer(kind)
            or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)
            or pa.types.is_decimal(kind)
        ):
            role = "the label" if index == 0 else "a feature"
            raise UserError(
                f"{path}: column {index + 1} {name!r} ({role}) has type {kind}; parquet channels "
                "must be all numeric with the label first"
            )
        columns.append(pc.cast(column, pa.float32()).to_numpy(zero_copy_only=False))
    labels = columns[0]
    features = np.empty((table.num_rows, len(columns) - 1), dtype=np.float32)
    for j, col in enumerate(columns[1:]):
        features[:, j] = col
    if np.isinf(features).any():
        row, col = np.argwhere(np.isinf(features))[0]
        raise UserError(
            f"{path}: row {row + 1}, column {col + 2} is infinite; use null for missing"
        )
    return features, labels


# --------------------------------------------------------------------------- assembling a channel


class _PartsIter(xgb.DataIter):
    """Feeds already-validated per-file parts to one DMatrix (a single pass, no big concat)."""

    def __init__(self, parts: list[dict[str, Any]]):
        self._parts = parts
        self._i = 0
        super().__init__()

    def next(self, input_data) -> bool:  # type: ignore[override]
        if self._i == len(self._parts):
            return False
        input_data(**self._parts[self._i])
        self._i += 1
        return True

    def reset(self) -> None:
        self._i = 0


def _csr_part(dmatrix: xgb.DMatrix, width: int) -> dict[str, Any]:
    data = dmatrix.get_data()
    if data.shape[1] < width:  # trailing all-missing columns are not counted by the text loader
        data.resize((data.shape[0], width))
    part: dict[str, Any] = {"data": data, "label": dmatrix.get_label()}
    weight = dmatrix.get_weight()
    if weight.size:
        part["weight"] = weight
    return part


def load_channel(name: str, channel_dir: str, fmt: str, csv_weights: bool = False) -> ChannelData:
    """All files of one channel as one DMatrix; raises UserError naming the file on bad data."""
    if not os.path.isdir(channel_dir):
        raise UserError(f"Channel {name!r} directory {channel_dir} does not exist")
    files = data_files(channel_dir)
    if not files:
        raise UserError(
            f"Channel {name!r} has no data files in {channel_dir} "
            "(files starting with . or _ are ignored)"
        )
    parts: list[dict[str, Any]] = []
    rows: list[int] = []
    widths: list[tuple[int, str]] = []
    single: xgb.DMatrix | None = None
    for path in files:
        if fmt == c.CSV:
            dmatrix, width = load_csv_file(path, csv_weights)
            widths.append((width, path))
        elif fmt == c.LIBSVM:
            dmatrix = load_libsvm_file(path)
            width = int(dmatrix.num_col())
        else:
            features, labels = load_parquet_file(path)
            width = features.shape[1]
            widths.append((width, path))
            dmatrix = None
        if len(files) == 1:
            single = dmatrix if dmatrix is not None else xgb.DMatrix(features, label=labels)
            rows.append(int(single.num_row()))
            break
        if dmatrix is not None:
            if dmatrix.num_row() == 0:
                raise UserError(f"{path} has no rows")
            rows.append(int(dmatrix.num_row()))
            parts.append({"width": width, "dmatrix": dmatrix})
        else:
            rows.append(features.shape[0])
            parts.append({"data": features, "label": labels})
    if widths and len({w for w, _ in widths}) > 1:
        (w0, p0), (w1, p1) = widths[0], next(x for x in widths if x[0] != widths[0][0])
        raise UserError(
            f"Channel {name!r}: {p1} has {w1} features but {p0} has {w0}; "
            "every file of a channel needs the same columns"
        )
    if single is None:
        width = max(p.get("width", 0) for p in parts) if fmt != c.PARQUET else widths[0][0]
        feed = [_csr_part(p["dmatrix"], width) if "dmatrix" in p else p for p in parts]
        parts.clear()
        single = xgb.DMatrix(_PartsIter(feed))
    if single.num_row() == 0:
        raise UserError(f"Channel {name!r} has no rows in {channel_dir}")
    return ChannelData(name=name, fmt=fmt, dmatrix=single, files=files, rows_per_file=rows)


# --------------------------------------------------------------------------- labels


def label_problem(
    labels: np.ndarray, objective: str, num_class: int | None
) -> tuple[int, str] | None:
    """(row, reason) for the first label that the objective cannot use, else None."""
    bad = ~np.isfinite(labels)
    if bad.any():
        return int(np.argmax(bad)), "is missing or NaN; every row needs a finite label"
    rule: tuple[np.ndarray, str] | None = None
    if objective in ("binary:logistic", "binary:logitraw", "reg:logistic"):
        rule = ((labels < 0) | (labels > 1), "needs labels in [0, 1] (0 = negative, 1 = positive)")
    elif objective == "binary:hinge":
        rule = ((labels != 0) & (labels != 1), "needs labels 0 or 1")
    elif objective.startswith("multi:") and num_class:
        rule = (
            (labels < 0) | (labels >= num_class) | (labels != np.floor(labels)),
            f"with num_class={num_class} needs integer labels 0..{num_class - 1}",
        )
    elif objective in ("count:poisson", "reg:tweedie"):
        rule = (labels < 0, "needs labels >= 0")
    elif objective == "reg:gamma":
        rule = (labels <= 0, "needs labels > 0")
    elif objective == "reg:squaredlogerror":
        rule = (labels <= -1, "needs labels > -1")
    if rule is None:
        return None
    mask, reason = rule
    if not mask.any():
        return None
    row = int(np.argmax(mask))
    return row, f"is {labels[row]:g}; objective {objective} {reason}"


def line_of_record(path: str, record: int) -> int:
    """1-based line of the record-th non-blank line (the text loaders skip blank lines)."""
    seen = -1
    with open(path, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            if raw.strip():
                seen += 1
                if seen == record:
                    return line_no
    return record + 1


def check_labels(data: ChannelData, objective: str, num_class: int | None) -> None:
    labels = data.dmatrix.get_label()
    found = label_problem(labels, objective, num_class)
    if found is None:
        return
    row, reason = found
    path, record = data.locate(row)
    where = f"row {record + 1}" if data.fmt == c.PARQUET else f"line {line_of_record(path, record)}"
    raise UserError(f"{path}: {where}: the label {reason}")
