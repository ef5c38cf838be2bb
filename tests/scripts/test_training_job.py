"""A training job end to end: artifacts, formats, early stopping, checkpoints, launch paths."""

from __future__ import annotations

import io
import json
import re
import signal

import numpy as np
import pytest
import xgboost as xgb
from scripts_support import Job, binary_data, csv_text
from waiting import wait_until

BINARY = ["--num_round", "20", "--objective", "binary:logistic", "--eval_metric", "auc"]


def load_model(job: Job) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray((job.model_dir / "xgboost-model").read_bytes()))
    return booster


def iterations(log: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"^\[(\d+)\]\t", log, re.MULTILINE)]


def test_model_is_ubjson_alone_at_the_top_of_the_model_dir(binary_job: Job):
    assert binary_job.run(BINARY) == 0, binary_job.failure()
    assert [p.name for p in binary_job.model_dir.iterdir()] == ["xgboost-model"]
    assert (binary_job.model_dir / "xgboost-model").read_bytes()[:2] == b"{L"  # UBJSON object
    assert load_model(binary_job).num_boosted_rounds() == 20
    assert not binary_job.failure_file.exists()


def test_evaluation_report_for_binary_classification(binary_job: Job):
    assert binary_job.run(BINARY) == 0
    report = json.loads((binary_job.output_data_dir / "evaluation.json").read_text())
    assert report["objective"] == "binary:logistic"
    assert report["rows"] == {"train": 200, "validation": 100}
    assert report["evaluated_on"] == "validation"
    assert set(report["metrics"]) == {"train", "validation"}
    assert 0.8 < report["metrics"]["validation"]["auc"] <= 1
    assert abs(report["quality"]["auc"] - report["metrics"]["validation"]["auc"]) < 1e-3
    assert sorted(report["plots"]) == ["feature_importance.png", "pr_curve.png", "roc_curve.png"]
    for name in report["plots"]:
        assert (binary_job.output_data_dir / name).read_bytes()[:4] == b"\x89PNG"


def test_evaluation_report_for_regression_has_residuals(job: Job):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((200, 3))
    y = x @ [1.0, -2.0, 0.5] + 0.1 * rng.standard_normal(200)
    job.write_channel("train", {"a.csv": csv_text(y, x)})
    job.write_configs({}, {"train": "csv"})
    assert job.run(["--num_round", "10"]) == 0, job.failure()
    report = json.loads((job.output_data_dir / "evaluation.json").read_text())
    assert report["evaluated_on"] == "train"
    assert set(report["quality"]) == {"rmse", "mae", "r2"}
    assert sorted(report["plots"]) == ["feature_importance.png", "residuals.png"]


def test_the_log_shows_the_first_rows_of_train_with_the_label_named(binary_job: Job, capsys):
    assert binary_job.run(["--num_round", "2", "--objective", "binary:logistic"]) == 0
    first = (binary_job.root / "input/data/train/part-0.csv").read_text().splitlines()[:3]
    expected = "First rows of train (the label is the first value):\n" + "".join(
        f"  {line}\n" for line in first
    )
    assert expected in capsys.readouterr().out


def test_regression_warns_when_the_label_column_looks_like_a_feature(job: Job, capsys):
    """A 0/1/2-coded column first and the continuous target last: trains, with a warning."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 3))
    target = x @ [1.0, -2.0, 0.5]
    job.write_channel("train", {"a.csv": csv_text(rng.integers(0, 3, 200), np.c_[x, target])})
    job.write_configs({}, {"train": "csv"})
    assert job.run(["--num_round", "2", "--objective", "reg:squarederror"]) == 0, job.failure()
    out = capsys.readouterr().out
    assert "WARNING: objective reg:squarederror treats column 1 as a continuous target" in out
    assert "only 3 distinct whole values (0, 1, 2) while column 2 has 200" in out


def test_regression_with_its_target_first_has_no_label_warning(job: Job, capsys):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((200, 3))
    job.write_channel("train", {"a.csv": csv_text(x @ [1.0, -2.0, 0.5], x)})
    job.write_configs({}, {"train": "csv"})
    assert job.run(["--num_round", "2", "--objective", "reg:squarederror"]) == 0, job.failure()
    assert "WARNING: objective" not in capsys.readouterr().out


def test_early_stopping_saves_the_booster_cut_to_the_best_iteration(job: Job, capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 5))
    y = (x[:, 0] > 0).astype(int)
    noisy = rng.integers(0, 2, 100)  # validation labels unrelated to x: it stops improving fast
    job.write_channel("train", {"a.csv": csv_text(y[:300], x[:300])})
    job.write_channel("validation", {"v.csv": csv_text(noisy, x[300:])})
    job.write_configs({}, {"train": "text/csv", "validation": "text/csv"})
    argv = ["--num_round", "200", "--objective", "binary:logistic", "--eval_metric", "logloss",
            "--early_stopping_rounds", "5", "--eta", "0.3"]  # fmt: skip
    assert job.run(argv) == 0, job.failure()
    report = json.loads((job.output_data_dir / "evaluation.json").read_text())
    best = report["best_iteration"]
    assert len(iterations(capsys.readouterr().out)) == best + 6  # trained 5 past the best
    assert load_model(job).num_boosted_rounds() == best + 1 == report["num_boosted_rounds"]
    assert report["truncated_to_best_iteration"] is True


def test_many_files_skip_hidden_ones_and_load_as_one_channel(job: Job):
    y, x = binary_data(rows=90)
    job.write_channel(
        "train",
        {
            "a.csv": csv_text(y[:30], x[:30]),
            "nested/b.csv": csv_text(y[30:60], x[30:60]),
            "c.csv": csv_text(y[60:], x[60:]),
            "_SUCCESS": "",
            ".manifest": "not,data\n",
        },
    )
    job.write_configs({}, {"train": "text/csv"})
    assert job.run(["--num_round", "2", "--objective", "binary:logistic"]) == 0, job.failure()
    assert json.loads((job.output_data_dir / "evaluation.json").read_text())["rows"] == {
        "train": 90
    }


def test_libsvm_and_default_content_type(job: Job):
    y, x = binary_data(rows=60)
    lines = [f"{label} " + " ".join(f"{j}:{v:.5g}" for j, v in enumerate(row) if j != 2)
             for label, row in zip(y, x, strict=True)]  # fmt: skip
    job.write_channel("train", {"a.txt": "\n".join(lines) + "\n"})
    job.write_configs({}, {"train": None})  # no ContentType: libsvm, as in the built-in
    assert job.run(["--num_round", "2", "--objective", "binary:logistic"]) == 0, job.failure()
    assert load_model(job).num_features() == 4


def test_parquet_with_several_files(job: Job):
    import pandas as pd

    y, x = binary_data(rows=80)
    files = {}
    for i in range(2):
        part = slice(40 * i, 40 * (i + 1))
        frame = pd.DataFrame(x[part], columns=[f"f{j}" for j in range(4)])
        frame.insert(0, "label", y[part])
        frame.loc[3, "f1"] = None  # nulls are missing values
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        files[f"part-{i}.parquet"] = buffer.getvalue()
    job.write_channel("train", files)
    job.write_configs({}, {"train": "application/x-parquet"})
    assert job.run(["--num_round", "2", "--objective", "binary:logistic"]) == 0, job.failure()
    assert load_model(job).num_features() == 4


def test_tab_delimited_csv_with_weights_column(job: Job):
    y, x = binary_data(rows=50)
    weights = np.linspace(0.5, 2, 50)
    rows = np.column_stack([y, weights, x])
    job.write_channel("train", {"a.tsv": "\n".join("\t".join(map(str, r)) for r in rows)})
    job.write_configs({}, {"train": "text/csv"})
    assert job.run(["--num_round", "2", "--objective", "binary:logistic",
                    "--csv_weights", "1"]) == 0, job.failure()  # fmt: skip
    assert load_model(job).num_features() == 4


@pytest.mark.slow
def test_restart_resumes_from_newest_checkpoint_and_trains_only_the_rest(binary_job: Job, capsys):
    assert binary_job.run(BINARY) == 0
    checkpoints = sorted(p.name for p in binary_job.checkpoint_dir.iterdir())
    assert checkpoints == [f"xgboost-checkpoint.{i}" for i in (15, 16, 17, 18, 19)]
    # Simulate a spot interruption after round 16: later checkpoints and the model never existed.
    for i in (17, 18, 19):
        (binary_job.checkpoint_dir / f"xgboost-checkpoint.{i}").unlink()
    (binary_job.model_dir / "xgboost-model").unlink()
    capsys.readouterr()
    assert binary_job.run(BINARY) == 0
    log = capsys.readouterr().out
    assert "Resuming from checkpoint after 17 rounds; 3 to go" in log
    assert iterations(log) == [17, 18, 19]
    assert load_model(binary_job).num_boosted_rounds() == 20


def _job_for_subprocess(job: Job, rows: int) -> None:
    y, x = binary_data(rows=rows, features=10)
    split = rows * 4 // 5
    job.write_channel("train", {"train.csv": csv_text(y[:split], x[:split])})
    job.write_channel("validation", {"validation.csv": csv_text(y[split:], x[split:])})


@pytest.mark.parametrize(
    ("style", "args"),
    [
        # Legacy sagemaker-containers: `python -m train`, sorted keys, Python-style booleans.
        ("B", ["--eta", "0.3", "--eval_metric", "auc", "--max_depth", "3", "--model-dir",
               "/opt/ml/model", "--num_round", "8", "--objective", "binary:logistic",
               "--validate_parameters", "True"]),
        # SDK v3 ModelTrainer: `python3 train.py`, insertion order, JSON-style booleans.
        ("C", ["--num_round", "8", "--objective", "binary:logistic", "--max_depth", "3",
               "--eta", "0.3", "--validate_parameters", "true", "--eval_metric", "auc"]),
    ],
    ids=["legacy-python-m", "v3-python3-script"],
)  # fmt: skip
def test_launch_paths_in_a_subprocess(job: Job, style: str, args: list[str]):
    _job_for_subprocess(job, 300)
    job.write_configs(
        {"num_round": 8, "objective": "binary:logistic"},
        {"train": "text/csv", "validation": "text/csv"},
    )
    process = job.popen(style, args)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0, out
    assert iterations(out) == list(range(8))
    assert re.search(r"^\[7\]\ttrain-auc:[0-9.]+\tvalidation-auc:[0-9.]+$", out, re.MULTILINE)
    assert [p.name for p in job.model_dir.iterdir()] == ["xgboost-model"]
    # A launched script, which exits through os._exit, still writes the whole report.
    report = json.loads((job.output_data_dir / "evaluation.json").read_text())
    assert sorted(report["plots"]) == ["feature_importance.png", "pr_curve.png", "roc_curve.png"]


def test_fails_in_a_subprocess_with_exit_code_and_failure_file(job: Job):
    job.write_channel("train", {"a.csv": "0,1\n2,x\n"})
    job.write_configs({"num_round": 2}, {"train": "text/csv"})
    process = job.popen("C", ["--num_round", "2"])
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "line 2, column 2" in job.failure()
    assert "Traceback" not in out


@pytest.mark.slow
def test_killed_job_restarts_from_its_newest_checkpoint(job: Job):
    _job_for_subprocess(job, 8000)
    job.write_configs({}, {"train": "text/csv", "validation": "text/csv"}, checkpoints=True)
    args = ["--num_round", "60", "--max_depth", "6", "--objective", "binary:logistic"]
    first = job.popen("C", args)
    fourth = job.checkpoint_dir / "xgboost-checkpoint.3"
    wait_until(lambda: fourth.exists() or first.poll() is not None, 60, fourth.name, poll_s=0.005)
    assert first.poll() is None, "finished before it could be killed; make it slower"
    first.send_signal(signal.SIGKILL)  # a spot reclaim without a goodbye
    first.communicate(timeout=30)
    done = max(int(p.name.rsplit(".", 1)[1]) for p in job.checkpoint_dir.glob("xgboost-*")) + 1
    assert done < 60 and not (job.model_dir / "xgboost-model").exists()

    second = job.popen("C", args)
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, out
    assert f"Resuming from checkpoint after {done} rounds; {60 - done} to go" in out
    assert iterations(out)[0] == done and iterations(out)[-1] == 59
    assert load_model(job).num_boosted_rounds() == 60


def test_built_in_style_launch_with_only_config_files(binary_job: Job, capsys):
    # No SM_CHANNEL_*, SM_HPS, SM_HOSTS or arguments: channels come from input/data, the
    # hyperparameters (v2 JSON-encoded) from hyperparameters.json, formats from inputdataconfig.
    (binary_job.root / "input" / "config" / "hyperparameters.json").write_text(
        '{"num_round": "4", "objective": "\\"binary:logistic\\"", "eval_metric": "\\"auc\\""}'
    )
    import train

    environ = {
        key: value
        for key, value in binary_job.env().items()
        if key in ("SM_INPUT_DIR", "SM_MODEL_DIR", "SM_OUTPUT_DIR", "SM_OUTPUT_DATA_DIR")
    }
    assert train.run_job([], environ) == 0, binary_job.failure()
    assert iterations(capsys.readouterr().out) == [0, 1, 2, 3]
    assert load_model(binary_job).num_boosted_rounds() == 4


def test_v3_failure_file_variable_wins(binary_job: Job, tmp_path):
    target = tmp_path / "elsewhere" / "failure"
    binary_job.extra_env["SM_OUTPUT_FAILURE"] = str(target)
    assert binary_job.run(["--objective", "binary:logistic"]) == 0  # num_round from the file
    binary_job.write_configs({}, {"train": "text/csv", "validation": "text/csv"})
    assert binary_job.run(["--objective", "binary:logistic"]) == 1
    assert "num_round" in target.read_text()
