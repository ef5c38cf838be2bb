"""Parquet channel files: all-numeric columns, label first, read with pyarrow as float32."""

from __future__ import annotations

import os

import numpy as np
from job_errors import UserError


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
