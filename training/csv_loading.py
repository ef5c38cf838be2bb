"""CSV channel files: sniff the delimiter, load through XGBoost, and name the first bad line.

XGBoost's text loader is silent about bad data: a non-numeric token, a short row or a header
becomes a missing value, `3x` becomes 3 and an empty label becomes 0. So:

* a byte scan runs in a thread while XGBoost parses (ctypes releases the GIL, so it is almost
  free): any byte that cannot be part of a number, or a line that starts with the delimiter
  (empty label), flags the file;
* after loading, `num_nonmissing == rows * cols` proves every row was full and numeric;
* only when one of these trips do we re-read the file in Python to name the file, line and
  column. Data with genuinely missing values (empty fields) pays for one vectorised width check.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence

import numpy as np
import text_files
import xgboost as xgb
from job_errors import UserError

_NUMERIC_BYTES = b"0123456789+-.eE \t\r\nnaNA"  # digits, signs, exponents, nan/NA, whitespace
# Byte sequences that may belong to no number (`1..2`, `--1`, `1e5e5`, a lone `.`, `NA`, `1e999`)
# although every byte is allowed: a match sends the file to the full, field-by-field diagnosis.
_SUSPECT = re.compile(
    rb"\.[0-9]*\.|[-+][-+.]?[-+]|[eE][0-9]*[eE.]|[eE](?![-+]?[0-9])|(?<![0-9])\.(?![0-9])"
    rb"|[aAnN]|[0-9][-+]|[eE][-+]?[0-9]{3}"
)
_CSV_HINT = "CSV channels need the label in column 1, numeric values only and no header row"

_LABEL_HINT = (
    "Labels must be numbers: class labels 0..K-1 for K classes (0/1 for binary), or the "
    "target value for regression. Encode string classes first, e.g. "
    "codes, classes = pandas.factorize(df[0]), and keep classes to decode predictions"
)


def _is_number(field: str) -> bool:
    """A field XGBoost reads: a number, or empty (a missing value)."""
    try:
        float(field.strip() or "nan")
    except ValueError:
        return False
    return True


def sniff_delimiter(line: str) -> str:
    """The built-in algorithm sniffs the delimiter from the first line; we allow the usual four."""
    for delimiter in (",", "\t", ";", "|"):
        if delimiter in line:
            return delimiter
    return ","


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
            shown = token if len(token) <= 40 else token[:40] + "..."
            where = f"{path}: line {line_no}, column {index + 1} ({what}) is {shown!r}"
            where += ", not a number"
            if line_no == 1 and not all(_is_number(f) for f in fields[1:]):
                return f"{where} (a header row? remove it). {_CSV_HINT}"
            if index == 0:
                return f"{where}. {_LABEL_HINT}"
            return f"{where}. {_CSV_HINT}"
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
    for lines_before, data in text_files.whole_line_blocks(path):
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
                    block = f.read(text_files.CHUNK_BYTES)
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


def load_csv_file(path: str, csv_weights: bool = False) -> tuple[xgb.DMatrix, int]:
    """One CSV file (label first, optional weight second, no header) -> (DMatrix, width)."""
    first, first_no = text_files.first_line(path)
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
        dmatrix = text_files.text_dmatrix(uri)
    except xgb.core.XGBoostError as e:
        scan.join()
        raise UserError(
            diagnose_csv(path, delimiter, required) or f"{path}: {text_files.xgboost_message(e)}"
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
