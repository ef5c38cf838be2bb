"""Channel files to a validated DMatrix: fast on good data, a precise sentence on bad data.

This module finds a channel's files and format and assembles the files into one DMatrix; each
format is read and checked in its own module (csv_loading, libsvm_loading, parquet_loading), and
label_checks checks the labels against the objective once a channel is loaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import csv_loading
import libsvm_loading
import parquet_loading
import sm_constants as c
import xgboost as xgb
from job_errors import UserError


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
            dmatrix, width = csv_loading.load_csv_file(path, csv_weights)
            widths.append((width, path))
        elif fmt == c.LIBSVM:
            dmatrix = libsvm_loading.load_libsvm_file(path)
            width = int(dmatrix.num_col())
        else:
            features, labels = parquet_loading.load_parquet_file(path)
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
