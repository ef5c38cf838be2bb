"""A model trained from the Training stack's code archive serves on an isolated endpoint.

The stack ships inference/ next to train.py (TrainingJobProps.serving_code_dir); train.py copies
it into the model's code/, where SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code finds it when the
container has no network. Here the same archive layout is trained by the local runtime and
served from the model archive alone.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import pytest
import requests

from sagestack import paths
from sagestack.local import TrainingJobSpec, run_training_job
from sagestack.serving.endpoint import start_local_endpoint
from sagestack.serving.supervisor import resolve_code_dir
from stacks.constructs.source_asset import build_tarball

pytestmark = pytest.mark.slow  # trains a model, then starts a server on it


def _stack_code_archive_layout(tmp_path: Path) -> Path:
    """training/ with inference/ inside it, extracted from the archive the stack uploads."""
    archive = tmp_path / "code.tar.gz"
    archive.write_bytes(
        build_tarball(paths.training_dir(), extra_dirs={"inference": paths.inference_dir()})
    )
    code = tmp_path / "code"
    with tarfile.open(archive) as tar:
        tar.extractall(code, filter="data")
    return code


def test_trained_model_carries_its_inference_code_and_serves_from_it(tmp_path: Path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    train = tmp_path / "train" / "train.csv"
    train.parent.mkdir()
    np.savetxt(train, np.column_stack([y, x]), delimiter=",", fmt="%.6g")

    spec = TrainingJobSpec(
        inputs={"train": str(train.parent)},
        hyperparameters={"num_round": 20, "objective": "binary:logistic"},
        content_type="text/csv",
        source_dir=_stack_code_archive_layout(tmp_path),
        jobs_root=tmp_path / "jobs",
        output_path=tmp_path / "output",
    )
    result = run_training_job(spec, stream_logs=False)
    assert result.model_artifacts is not None, result.log_files["algo-1"].read_text()
    with tarfile.open(result.model_artifacts) as tar:
        names = sorted(tar.getnames())
    top_level_files = [n for n in names if "/" not in n and n not in ("code", ".")]
    assert top_level_files == ["xgboost-model"]  # the container loads every top-level file
    # inference.py and the sibling modules it imports (the container imports them from code/).
    assert {f"code/{p.name}" for p in paths.inference_dir().glob("*.py")} <= set(names)

    model_dir = tmp_path / "model"
    with tarfile.open(result.model_artifacts) as tar:
        tar.extractall(model_dir, filter="data")
    assert resolve_code_dir(None, model_dir, "inference.py") == (model_dir / "code").resolve()

    with start_local_endpoint(result.model_artifacts, workers=1) as endpoint:
        response = requests.post(
            endpoint.invocations_url,
            data="2.0,1.5,0,0\n-2.0,-1.5,0,0\n",
            headers={"Content-Type": "text/csv", "Accept": "application/json"},
            timeout=30,
        )
    assert response.status_code == 200, response.text
    labels = [p["predicted_label"] for p in response.json()["predictions"]]
    assert labels == [1, 0]
