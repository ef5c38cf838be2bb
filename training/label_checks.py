"""Label checks: the first label the objective cannot use, named by its file and line (or row).

Run once a channel is loaded, so a bad label is reported with its file and line: XGBoost's own
label checks (for the objectives that have one) stop training with a sentence that names neither.
"""

from __future__ import annotations

import numpy as np
import sm_constants as c
import xgboost as xgb
from data_loading import ChannelData
from job_errors import UserError


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


# A regression label with at most this many distinct whole values, beside a feature column
# with SPREAD times as many non-whole values, reads like a category sitting where the target
# should be (the continuous target is then most likely that other column).
_FEW_LABEL_VALUES = 20
_SPREAD = 10
_SAMPLE_ROWS = 10_000


def regression_label_warning(data: ChannelData, objective: str) -> str | None:
    """A warning when a regression job's column 1 looks like a feature and another column
    like the target: the built-in algorithm trains on it without any error."""
    if not objective.startswith("reg:") or objective == "reg:logistic" or data.num_features < 1:
        return None
    rows = min(data.num_rows, _SAMPLE_ROWS)
    distinct = np.unique(data.dmatrix.get_label()[:rows])
    if len(distinct) > _FEW_LABEL_VALUES or not np.all(distinct == np.floor(distinct)):
        return None
    try:
        features = data.dmatrix.slice(list(range(rows))).get_data().toarray()
    except xgb.core.XGBoostError:  # an external-memory DMatrix (several files) has no slice
        return None
    best, best_count = None, 0
    for column in range(features.shape[1]):
        values = np.unique(features[:, column][np.isfinite(features[:, column])])
        if np.all(values == np.floor(values)):
            continue
        if len(values) > best_count:
            best, best_count = column, len(values)
    if best is None or best_count < _SPREAD * len(distinct):
        return None
    return (
        f"WARNING: objective {objective} treats column 1 as a continuous target, but in the "
        f"first {rows} rows of {data.name} it holds only {len(distinct)} distinct "
        f"whole values ({', '.join(f'{v:g}' for v in distinct[:6])}"
        f"{', ...' if len(distinct) > 6 else ''}) while column {best + 2} has {best_count} "
        "distinct continuous values. The label must be column 1: if your target is another "
        "column, move it first (the first rows are shown below)."
    )
