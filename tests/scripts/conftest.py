"""Fixtures for the script tests (helpers live in scripts_support.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripts_support import Job, binary_data, csv_text


@pytest.fixture
def job(tmp_path: Path) -> Job:
    return Job(root=tmp_path / "job")


@pytest.fixture
def binary_job(job: Job) -> Job:
    """A valid CSV train + validation job; tests break one thing at a time."""
    y, x = binary_data()
    job.write_channel("train", {"part-0.csv": csv_text(y[:200], x[:200])})
    job.write_channel("validation", {"val.csv": csv_text(y[200:], x[200:])})
    job.write_configs(
        {"num_round": 5}, {"train": "text/csv", "validation": "text/csv"}, checkpoints=True
    )
    return job
