"""Local training jobs end to end, with a dummy entry point of our own."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from waiting import process_gone, wait_until

from sagestack.local.job_spec import TrainingJobSpec, make_job_name, validate_job_name
from sagestack.local.training import TrainingJobError, read_status, run_training_job


def _run(tmp_path: Path, code: Path, data: Path, *, raise_on_failure: bool = True, **fields):
    spec = TrainingJobSpec(
        inputs={"train": data, "validation": f"file://{data / 'part-1.csv'}"},
        source_dir=code,
        content_type="text/csv",
        jobs_root=tmp_path / "jobs",
        output_path=tmp_path / "artifacts",
        **fields,
    )
    return run_training_job(spec, stream_logs=False, raise_on_failure=raise_on_failure)


def _seen(result) -> dict:
    return json.loads((result.job_dir / "output" / "data" / "seen.json").read_text())


def test_v3_job_runs_python3_script_with_insertion_order_args(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    result = _run(tmp_path, train_code, train_data, hyperparameters={"num_round": 4, "eta": 0.2})
    seen = _seen(result)
    assert seen["argv"] == ["train.py", "--num_round", "4", "--eta", "0.2"]
    assert seen["cwd"] == str(result.job_dir / "input" / "data" / "code")
    assert seen["env"]["TRAINING_JOB_NAME"] == result.job_name
    assert seen["env"]["TRAINING_JOB_ARN"].endswith(f":training-job/{result.job_name}")
    assert result.status == "Completed" and result.exit_code == 0
    assert result.metrics == {"train:auc": 0.93, "validation:auc": 0.83}
    assert result.model_artifacts == (
        tmp_path / "artifacts" / result.job_name / "output" / "model.tar.gz"
    )
    with tarfile.open(result.model_artifacts) as tar:
        assert tar.getnames() == ["xgboost-model"]
    with tarfile.open(result.output_artifacts) as tar:
        assert tar.getnames() == ["seen.json"]


def test_legacy_job_runs_python_m_with_sorted_args(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    result = _run(
        tmp_path,
        train_code,
        train_data,
        hyperparameters={"num_round": 2, "eta": 0.2},
        launch="legacy",
    )
    seen = _seen(result)
    code_dir = result.job_dir / "code"
    assert seen["argv"] == [str(code_dir / "train.py"), "--eta", "0.2", "--num_round", "2"]
    assert seen["cwd"] == str(code_dir)
    assert seen["env"]["SM_MODULE_NAME"] == "train"
    assert not (code_dir / "__pycache__" / "stale.pyc").exists()
    hps = json.loads((result.job_dir / "input/config/hyperparameters.json").read_text())
    assert hps["sagemaker_program"] == '"train.py"'  # v2 SDK JSON-encodes every value
    assert hps["num_round"] == "2"


def test_failed_job_raises_with_the_failure_file_message(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    with pytest.raises(TrainingJobError, match="Missing required channel") as caught:
        _run(tmp_path, train_code, train_data, hyperparameters={"fail": "message"})
    result = caught.value.result
    assert result.status == "Failed"
    assert result.exit_code == 3
    assert result.failure_reason == "Missing required channel: train has no CSV files"
    assert result.model_artifacts is None


def test_failure_without_a_failure_file_gets_the_toolkit_text(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    result = _run(
        tmp_path,
        train_code,
        train_data,
        hyperparameters={"fail": "crash"},
        launch="legacy",
        raise_on_failure=False,
    )
    assert result.status == "Failed" and result.exit_code == 1
    assert result.failure_reason.startswith('ExecuteUserScriptError:\nCommand "')
    assert "unexpected crash in train.py" in result.failure_reason
    assert (result.job_dir / "output" / "failure").read_text().startswith("ExecuteUserScript")


def test_max_runtime_stops_the_job(tmp_path: Path, train_code: Path, train_data: Path) -> None:
    result = _run(
        tmp_path,
        train_code,
        train_data,
        hyperparameters={"fail": "hang"},
        max_runtime_s=0.5,
        raise_on_failure=False,
    )
    assert result.status == "Stopped"
    assert "MaxRuntimeExceeded" in result.failure_reason
    assert read_status(result.job_dir) == "Stopped"  # what sagestack status --local shows


def test_two_hosts_each_get_their_own_view(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    result = _run(tmp_path, train_code, train_data, instance_count=2)
    assert result.hosts == ["algo-1", "algo-2"]
    ports = set()
    for host in result.hosts:
        view = result.job_dir / host
        config = json.loads((view / "input/config/resourceconfig.json").read_text())
        assert config["current_host"] == host
        assert config["hosts"] == ["algo-1", "algo-2"]
        seen = json.loads((view / "output/data/seen.json").read_text())
        assert seen["env"]["SM_CURRENT_HOST"] == host
        assert json.loads(seen["env"]["SAGESTACK_HOST_ADDRESSES"])["algo-2"] == "127.0.0.1"
        ports.add(seen["env"]["SAGESTACK_TRACKER_PORT"])
    assert len(ports) == 1  # every host agrees on the collective's port
    with tarfile.open(result.model_artifacts) as tar:
        assert tar.getnames() == ["xgboost-model"]


def test_job_names() -> None:
    name = make_job_name()
    assert name.startswith("sagestack-xgboost-") and len(name) <= 63
    validate_job_name(name)
    with pytest.raises(ValueError, match="TrainingJobName"):
        validate_job_name("bad_name")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"launch": "v2"}, "launch must be one of"),
        ({"instance_count": 0}, "instance_count must be at least 1, got 0"),
        ({"launch": "legacy", "entry_point": "train.sh"}, "'train.sh' is not a .py file"),
        ({"job_name": "bad_name"}, "job name 'bad_name'"),
    ],
)
def test_fails_on_a_job_spec_sagemaker_would_reject(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainingJobSpec(inputs={"train": "data"}, **fields)


def test_fails_on_a_reused_job_name(tmp_path: Path, train_code: Path, train_data: Path) -> None:
    _run(tmp_path, train_code, train_data, job_name="same-name")
    with pytest.raises(FileExistsError, match="unique"):
        _run(tmp_path, train_code, train_data, job_name="same-name")


def test_without_checkpoints_there_is_no_checkpoint_config(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    result = _run(tmp_path, train_code, train_data, checkpoints=False)
    assert not (result.job_dir / "input/config/checkpointconfig.json").exists()
    assert (
        _run(tmp_path, train_code, train_data).job_dir / "input/config/checkpointconfig.json"
    ).exists()


def test_v3_runs_a_shell_entry_point_like_the_driver(tmp_path: Path, train_data: Path) -> None:
    code = tmp_path / "shell_code"
    code.mkdir()
    (code / "train.sh").write_text(
        'echo "[0]\tvalidation-rmse:0.5"\necho "$@" > "$SM_MODEL_DIR/args"\n'
    )
    result = _run(tmp_path, code, train_data, entry_point="train.sh", hyperparameters={"a": 1})
    assert (result.job_dir / "model" / "args").read_text() == "--a 1\n"
    assert result.metrics == {"validation:rmse": 0.5}


def test_a_shell_entry_point_name_is_not_shell_syntax(tmp_path: Path, train_data: Path) -> None:
    """The name goes into the driver's ``sh -c`` quoted: it runs as itself, runs nothing else."""
    code = tmp_path / "shell_code"
    code.mkdir()
    name = "my train;touch injected;$(touch substituted).sh"
    (code / name).write_text('echo "$@" > "$SM_MODEL_DIR/args"\n')
    result = _run(tmp_path, code, train_data, entry_point=name, hyperparameters={"a": 1})
    assert (result.job_dir / "model" / "args").read_text() == "--a 1\n"
    assert not list(tmp_path.rglob("injected")) and not list(tmp_path.rglob("substituted"))


def test_sigterm_to_the_runner_stops_the_job(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    import signal
    import subprocess
    import sys

    script = (
        "from pathlib import Path\n"
        "from sagestack.local import TrainingJobSpec, run_training_job\n"
        f"spec = TrainingJobSpec(inputs={{'train': {str(train_data)!r}}},"
        f" source_dir=Path({str(train_code)!r}), jobs_root=Path({str(tmp_path / 'jobs')!r}),"
        f" output_path=Path({str(tmp_path / 'out')!r}), hyperparameters={{'fail': 'hang'}})\n"
        "run_training_job(spec, stream_logs=False)\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.DEVNULL)
    child = int(
        wait_until(
            lambda: "".join(p.read_text() for p in tmp_path.glob("jobs/*/output/data/pid")),
            20,
            "train.py to write its pid",
        )
    )
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=20) != 0
    # Left alone, the hanging train.py would sleep for 60 s.
    wait_until(lambda: process_gone(child), 10, f"train.py ({child}) to exit with its runner")
