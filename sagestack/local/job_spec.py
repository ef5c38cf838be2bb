"""A local training job's definition (what CreateTrainingJob would carry), frozen and checked."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sagestack.local.channels import Channel
from sagestack.local.environment import LAUNCH_STYLES, LEGACY

DEFAULT_BASE_JOB_NAME = "sagestack-xgboost"
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")  # CreateTrainingJob's pattern


def make_job_name(base: str = DEFAULT_BASE_JOB_NAME, now: datetime | None = None) -> str:
    """``<base>-YYYYmmdd-HHMMSS-xxxx``: sortable by start time, unique within a second."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    name = f"{base[: 63 - 21]}-{stamp}-{secrets.token_hex(2)}"
    validate_job_name(name)
    return name


def validate_job_name(name: str) -> None:
    if not _JOB_NAME.match(name):
        raise ValueError(
            f"job name {name!r} must be 1-63 letters, digits or hyphens, "
            "starting with a letter or digit (CreateTrainingJob TrainingJobName)"
        )


@dataclass(frozen=True, kw_only=True)
class TrainingJobSpec:
    """One training job for :func:`sagestack.local.training.run_training_job`.

    Checked when built (launch style, host count, job name); the channels' data and the entry
    point are checked when the job runs, since they live on the file system.
    """

    inputs: Mapping[str, Channel | str | Path]
    """Channel name -> :class:`Channel`, local path, ``file://`` or ``s3://`` URI (a plain
    path or URI gets ``content_type``; s3:// data is downloaded when the job starts)."""
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    """Written to hyperparameters.json as the chosen SDK would (``launch="legacy"`` emulates the
    v2 estimator: values JSON-encoded plus the ``sagemaker_*`` keys; ``launch="v3"`` emulates
    ModelTrainer) and passed on the command line the way that launch path does."""
    source_dir: Path | None = None
    """The code to run; default: the bundled training code (``sagestack.paths.training_dir()``)."""
    entry_point: str = "train.py"
    """The script in ``source_dir`` the container starts (``.sh`` too, with ``launch="v3"``)."""
    launch: str = "v3"
    """``"v3"`` (``python3 <entry_point>``, ModelTrainer) or ``"legacy"`` (``python -m``)."""
    instance_count: int = 1
    """Hosts ``algo-1..algo-N``, each its own process and /opt/ml view, all on loopback
    (``SAGESTACK_HOST_ADDRESSES`` maps the names to 127.0.0.1)."""
    instance_type: str = "local"
    """Written to resourceconfig.json and the ``SM_*`` variables."""
    content_type: str | None = None
    """``ContentType`` of the channels given as plain paths; default: none (SageMaker omits it)."""
    job_name: str | None = None
    """Default: ``base_job_name`` plus a timestamp and a random suffix."""
    base_job_name: str = DEFAULT_BASE_JOB_NAME
    """The prefix of a generated job name."""
    jobs_root: Path | None = None
    """Where job dirs go (default ``.sagestack/jobs``): ``<jobs_root>/<job_name>``."""
    output_path: Path | None = None
    """Like ``OutputDataConfig.S3OutputPath`` (default ``.sagestack/artifacts``); artifacts land
    in ``<output_path>/<job_name>/output/{model,output}.tar.gz``."""
    checkpoint_dir: Path | None = None
    """A persistent ``CheckpointConfig.LocalPath`` so a rerun can resume; by default each host
    gets a fresh ``checkpoints/`` in its view."""
    checkpoints: bool = True
    """False runs the job as one without a CheckpointConfig (no checkpointconfig.json at all)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """Extra variables for the entry point, on top of this process's environment."""
    metric_definitions: Sequence[Mapping[str, str]] = ()
    """``[{"Name": ..., "Regex": ...}]`` applied to the log like SageMaker; XGBoost evaluation
    lines are always read as ``<data>:<metric>``."""
    max_runtime_s: float | None = None
    """Stop the job (SIGTERM, then SIGKILL) after this long, like
    ``StoppingCondition.MaxRuntimeInSeconds``; default: no limit."""

    def __post_init__(self) -> None:
        if self.launch not in LAUNCH_STYLES:
            raise ValueError(f"launch must be one of {LAUNCH_STYLES}, got {self.launch!r}")
        if self.instance_count < 1:
            raise ValueError(f"instance_count must be at least 1, got {self.instance_count}")
        if self.launch == LEGACY and not self.entry_point.endswith(".py"):
            raise ValueError(
                f"legacy launch runs a Python module; {self.entry_point!r} is not a .py file"
            )
        if self.job_name:
            validate_job_name(self.job_name)
