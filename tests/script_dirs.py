"""The flat script directories (training/, inference/) on sys.path, as the container has them.

Tests import the scripts by their plain names (``import train``), as the container does, so the
directories go first on sys.path once, from here.
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINING_DIR = REPO / "training"
INFERENCE_DIR = REPO / "inference"

for _path in (TRAINING_DIR, INFERENCE_DIR):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
