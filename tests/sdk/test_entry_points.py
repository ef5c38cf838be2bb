"""The generic entry point and handlers under the SageMaker contract (both launch paths)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from sagestack import paths
from sagestack.local.channels import Channel
from sagestack.local.job_spec import TrainingJobSpec
from sagestack.local.training import TrainingJobError, TrainingJobResult, run_training_job
from sagestack.sdk.packaging import MANIFEST, build_source_dir

from .conftest import binary_data, write_channel
from .numpy_models import Exploding, NearestCentroid


def _job(
    root: Path,
    cls: type,
    *,
    launch: str = "v3",
    channels: dict[str, Path] | None = None,
    **hps: object,
) -> TrainingJobResult:
    spec, source = build_source_dir(cls, root / "code")
    if channels is None:
        x, y = binary_data(120)
        channels = {
            "train": write_channel(root / "train", x[:90], y[:90]),
            "validation": write_channel(root / "validation", x[90:], y[90:]),
        }
    job = TrainingJobSpec(
        inputs={
            name: Channel(source=path, content_type="text/csv") for name, path in channels.items()
        },
        hyperparameters={"sagestack_model": spec.spec, **hps},
        source_dir=source,
        entry_point="sagestack_train.py",
        launch=launch,
        jobs_root=root / "jobs",
        output_path=root / "artifacts",
    )
    return run_training_job(job, stream_logs=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainingJobResult:
    """One NearestCentroid job (v3 launch), shared by the artifact and handler tests."""
    return _job(tmp_path_factory.mktemp("trained"), NearestCentroid, scale=2.0)


def test_the_archive_holds_the_model_and_the_code_that_serves_it(
    trained: TrainingJobResult,
) -> None:
    assert trained.status == "Completed"
    assert trained.model_artifacts is not None
    with tarfile.open(trained.model_artifacts) as tar:
        names = sorted(tar.getnames())
    assert "model.pkl" in names
    assert {
        "code/sagestack_serve.py",
        "code/numpy_models.py",
        f"code/{MANIFEST}",
        "code/sagestack/__init__.py",
        "code/sagestack/sdk/model.py",
        "code/sagestack/sdk/dataset.py",
    } <= set(names)
    assert not [n for n in names if "sagestack/local" in n or "sagestack/serving" in n]


def test_metrics_hyperparameters_and_report(trained: TrainingJobResult) -> None:
    # Printed as XGBoost evaluation lines, read back as SageMaker metric names.
    assert set(trained.metrics) == {"train:accuracy", "validation:accuracy"}
    assert trained.metrics["validation:accuracy"] > 0.8
    report = json.loads((trained.job_dir / "output/data/evaluation.json").read_text())
    assert report["model"] == "numpy_models:NearestCentroid"
    assert report["rows"] == {"train": 90, "validation": 30}
    assert report["hyperparameters"] == {"scale": 2.0}  # sagestack_* never reaches train()


def test_the_legacy_launch_path_trains_the_same_model(tmp_path: Path) -> None:
    result = _job(tmp_path, NearestCentroid, launch="legacy", scale=2.0)
    assert result.command[1:3] == ["-m", "sagestack_train"]
    assert result.status == "Completed"
    assert result.metrics["validation:accuracy"] > 0.8


def test_fails_with_the_models_own_error_in_the_failure_file(tmp_path: Path) -> None:
    with pytest.raises(TrainingJobError) as raised:
        _job(tmp_path, Exploding, alpha=-1)
    result = raised.value.result
    assert result.exit_code == 1
    assert result.failure_reason == (
        "Exploding.train raised ValueError: alpha must be positive, got -1"
    )


def test_fails_on_a_header_row_naming_file_line_and_column(tmp_path: Path) -> None:
    train = tmp_path / "bad"
    train.mkdir()
    (train / "data.csv").write_text("label,a,b\n1,0.5,0.2\n")
    (train / "_SUCCESS").write_text("")  # markers are skipped, as SageMaker's containers do
    with pytest.raises(TrainingJobError) as raised:
        _job(tmp_path, NearestCentroid, channels={"train": train})
    reason = raised.value.result.failure_reason or ""
    assert reason.startswith("channel 'train': ")
    assert "data.csv: line 1, column 1: 'label' is not a number" in reason
    assert "label in the first column" in reason


def test_a_module_that_launches_when_imported_is_told_to_guard_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the container sees when the user's script calls fit() at the top level: the import
    # reaches for sagestack machinery that is not shipped.
    (tmp_path / "launches_on_import.py").write_text("import sagestack.not_shipped\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])  # load_class adds to it
    spec = importlib.util.spec_from_file_location(
        "sagestack_train", paths.training_dir() / "sagestack_train.py"
    )
    assert spec is not None and spec.loader is not None
    entry = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(entry)
    with pytest.raises(entry.JobError, match='under `if __name__ == "__main__":`') as raised:
        entry.load_class("launches_on_import:Model")
    assert "image_uri" not in str(raised.value)


def test_fails_without_a_train_channel(tmp_path: Path) -> None:
    x, y = binary_data(20)
    only = {"validation": write_channel(tmp_path / "v", x, y)}
    with pytest.raises(TrainingJobError, match="missing required channel 'train'"):
        _job(tmp_path, NearestCentroid, channels=only)


# ------------------------------------------------------------------------- serving handler


@pytest.fixture(scope="module")
def serve_module() -> Iterator[ModuleType]:
    path = paths.inference_dir() / "sagestack_serve.py"
    spec = importlib.util.spec_from_file_location("sagestack_serve_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


@pytest.fixture(scope="module")
def loaded(
    trained: TrainingJobResult, serve_module: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> object:
    model_dir = tmp_path_factory.mktemp("served")
    assert trained.model_artifacts is not None
    with tarfile.open(trained.model_artifacts) as tar:
        tar.extractall(model_dir, filter="data")
    os.environ.pop("SAGESTACK_MODEL", None)  # found through code/sagestack_manifest.json
    return serve_module.model_fn(str(model_dir))


def test_handler_predicts_csv_and_json(serve_module: ModuleType, loaded: object) -> None:
    x, _ = binary_data(3, seed=5)
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in x)
    csv_body, csv_type = serve_module.transform_fn(loaded, body, "text/csv", "text/csv")
    assert csv_type == "text/csv"
    scores = [float(line) for line in csv_body.splitlines()]
    assert len(scores) == 3 and all(0 <= s <= 1 for s in scores)
    json_body, json_type = serve_module.transform_fn(
        loaded, json.dumps({"instances": x.tolist()}), "application/json", "application/json"
    )
    assert json_type == "application/json"
    assert np.allclose(json.loads(json_body)["predictions"], scores)


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "text"),
    [
        ("1,2,3,4", "application/xml", "text/csv", 415, "Content-Type 'application/xml'"),
        ("1,2,3,4", "text/csv", "application/xml", 406, "Accept 'application/xml'"),
        ("1,x,3,4", "text/csv", "text/csv", 400, "line 1, column 2: 'x' is not a number"),
        ("", "text/csv", "text/csv", 400, "the request has no rows"),
    ],
)
def test_handler_answers_bad_requests_with_4xx(
    serve_module: ModuleType,
    loaded: object,
    body: str,
    content_type: str,
    accept: str,
    status: int,
    text: str,
) -> None:
    response = serve_module.transform_fn(loaded, body, content_type, accept)
    assert response.status_code == status
    assert text in response.get_data(as_text=True)
