"""Prediction columns to response text: JSON, JSON Lines or CSV, one record per input row.

Each record holds the columns predict returns; rows keep the request's order and the text has no
trailing newline (batch transform joins the responses itself). Formats:
  application/json      {"predictions": [{...}, ...]}, the script-mode default Accept
  application/jsonlines one object per line
  text/csv              the record's values, comma-separated, one line per row
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from negotiation import CSV, JSONLINES


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
