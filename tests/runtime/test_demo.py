"""What the demo's result table shows about a trained model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from sagestack import demo
from sagestack.local.training import TrainingJobResult


def _shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evaluation: dict) -> str:
    data = tmp_path / "job/output/data"
    data.mkdir(parents=True)
    (data / "evaluation.json").write_text(json.dumps(evaluation))
    model = tmp_path / ("a-directory-name-long-enough-to-pass-eighty-columns" * 2) / "model.tar.gz"
    result = TrainingJobResult(
        job_name="demo-job", status="Completed", job_dir=tmp_path / "job", exit_code=0,
        failure_reason=None, failed_host=None, model_artifacts=model, output_artifacts=None,
        metrics={"train:auc": 0.99, "validation:auc": 0.95}, hyperparameters={},
        launch="v3", hosts=["algo-1"], command=[],
    )  # fmt: skip
    out = io.StringIO()
    monkeypatch.setattr(demo, "console", Console(file=out, width=80))
    demo.show_training(result)
    text = out.getvalue()
    assert f"model: {model}\n" in text  # whole, on an 80-column terminal
    return text


def test_shows_the_saved_model_s_metric_not_the_last_round_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _shown(tmp_path, monkeypatch, {"best_iteration": 41, "quality": {"auc": 0.97}})
    assert "saved model (best iteration 41): validation auc" in text and "0.97000" in text
    assert "0.95000" not in text  # the last round's validation AUC is not shown beside it


def test_labels_the_log_s_metrics_as_the_last_round_s_without_an_evaluation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _shown(tmp_path, monkeypatch, {})
    assert "last round: validation:auc" in text and "0.95000" in text
