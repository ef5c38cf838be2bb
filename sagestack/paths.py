"""Where the repository's bundled training and inference code lives."""

from __future__ import annotations

from pathlib import Path

# The scripts ship beside the package in the repository (editable install), not inside it,
# because SageMaker receives them as their own archive and must not see the SDK.
REPO_ROOT = Path(__file__).resolve().parents[1]


def training_dir() -> Path:
    """The bundled training source dir (entry point ``train.py``)."""
    return REPO_ROOT / "training"


def inference_dir() -> Path:
    """The bundled inference source dir (handlers in ``inference.py``)."""
    return REPO_ROOT / "inference"


def default_state_dir() -> Path:
    """Root for local jobs, artifacts and endpoints: ``.sagestack/`` under the working dir.

    Relative to the working directory, like ``cdk.out``, so two checkouts never share state.
    """
    return Path.cwd() / ".sagestack"
