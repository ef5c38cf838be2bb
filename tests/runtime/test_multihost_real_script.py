"""The bundled training script runs as two local "hosts" under the runtime, on loopback."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from sagestack.local.job_spec import TrainingJobSpec
from sagestack.local.training import run_training_job

pytestmark = pytest.mark.slow  # two-host distributed training


def _write_shards(directory: Path) -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2000, 4))
    labels = (features[:, 0] + features[:, 1] > 0).astype(int)
    rows = np.column_stack([labels, features])
    directory.mkdir()
    for shard in range(2):
        np.savetxt(directory / f"part-{shard}.csv", rows[shard::2], delimiter=",", fmt="%.6g")


def test_two_hosts_share_one_model_packed_from_the_first(tmp_path: Path) -> None:
    _write_shards(tmp_path / "train")

    spec = TrainingJobSpec(
        inputs={"train": tmp_path / "train"},
        hyperparameters={"num_round": 5, "objective": "binary:logistic"},
        content_type="text/csv",
        instance_count=2,
        jobs_root=tmp_path / "jobs",
        output_path=tmp_path / "artifacts",
    )
    result = run_training_job(spec, stream_logs=False)

    assert result.succeeded, result.failure_reason
    assert result.hosts == ["algo-1", "algo-2"]
    assert (
        json.loads((result.job_dir / "algo-2/input/config/resourceconfig.json").read_text())[
            "current_host"
        ]
        == "algo-2"
    )
    assert result.model_artifacts is not None
    with tarfile.open(result.model_artifacts) as archive:
        assert archive.getnames() == ["xgboost-model"]
