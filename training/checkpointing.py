"""Per-round checkpoints in the checkpoint LocalPath, and resuming from the newest one.

SageMaker syncs LocalPath to S3 and restores it when a (spot) job restarts; the built-in algorithm
names files `xgboost-checkpoint.<iteration>` and trains only the remaining rounds (aws/sagemaker-
xgboost-container, `checkpointing.py`).
We keep that naming and the UBJSON format of the model itself.
"""

from __future__ import annotations

import contextlib
import os
import re

import sm_constants as c
import xgboost as xgb

_CHECKPOINT_RE = re.compile(re.escape(c.CHECKPOINT_PREFIX) + r"(\d+)$")


def checkpoint_path(directory: str, iteration: int) -> str:
    return os.path.join(directory, f"{c.CHECKPOINT_PREFIX}{iteration}")


def list_checkpoints(directory: str | None) -> list[tuple[int, str]]:
    """(iteration, path) for every checkpoint in the directory, oldest first."""
    if not directory or not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        match = _CHECKPOINT_RE.match(name)
        if match:
            found.append((int(match.group(1)), os.path.join(directory, name)))
    return sorted(found)


def load_latest(directory: str | None) -> tuple[bytes, int] | None:
    """Raw UBJSON of the newest readable checkpoint and its boosted rounds, or None.

    A checkpoint that does not load (a partial write from an old run) is skipped, falling back
    to the next newest, so a crash during a save never blocks the restart.
    """
    for _, path in reversed(list_checkpoints(directory)):
        with open(path, "rb") as f:
            raw = f.read()
        try:
            booster = xgb.Booster()
            booster.load_model(bytearray(raw))
        except xgb.core.XGBoostError:
            continue
        return raw, booster.num_boosted_rounds()
    return None


class SaveCheckpoint(xgb.callback.TrainingCallback):
    """Writes `xgboost-checkpoint.<i>` after round i, atomically, keeping the newest few."""

    def __init__(self, directory: str, keep: int = c.CHECKPOINTS_TO_KEEP):
        super().__init__()
        self.directory = directory
        self.keep = keep
        os.makedirs(directory, exist_ok=True)

    def after_iteration(self, model, epoch: int, evals_log) -> bool:  # type: ignore[override]
        iteration = model.num_boosted_rounds() - 1
        target = checkpoint_path(self.directory, iteration)
        tmp = os.path.join(self.directory, f".{c.CHECKPOINT_PREFIX}{iteration}.tmp")
        with open(tmp, "wb") as f:
            f.write(model.save_raw("ubj"))
        os.replace(tmp, target)  # rename is atomic: a kill never leaves a half checkpoint
        for _, old in list_checkpoints(self.directory)[: -self.keep]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(old)
        return False
