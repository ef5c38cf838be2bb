"""Label checks: the first label the objective cannot use, named by its file and line (or row).

Run once a channel is loaded, so a bad label is reported with its file and line: XGBoost's own
label checks (for the objectives that have one) stop training with a sentence that names neither.
"""

from __future__ import annotations

import numpy as np
import sm_constants as c
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
