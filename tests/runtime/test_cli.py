"""The ``sagestack`` CLI through Typer's CliRunner."""

from __future__ import annotations

import _thread
import json
import tarfile
import threading
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sagestack.cli import app
from sagestack.serving.endpoint import LocalEndpoint

runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # .sagestack/ state goes under the test's tmp dir


def test_train_local(tmp_path: Path, train_code: Path, train_data: Path) -> None:
    result = runner.invoke(
        app,
        [
            "train", "--local", "--train", str(train_data),
            "--validation", f"file://{train_data / 'part-1.csv'}",
            "--hp", "num_round=3", "--hp", "eta=0.1", "--content-type", "text/csv",
            "--source-dir", str(train_code), "--job-name", "cli-job", "--launch", "legacy",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Completed" in result.output and "validation:auc" in result.output
    archive = tmp_path / ".sagestack/artifacts/cli-job/output/model.tar.gz"
    with tarfile.open(archive) as tar:
        assert tar.getnames() == ["xgboost-model"]


def _train(
    job_name: str, data: Path, hp: str, *, code: Path | None = None, columns: int = 250
) -> Result:
    """``sagestack train --local`` of ``code`` (default: the bundled train.py) on ``data``,
    without --content-type."""
    source = ["--source-dir", str(code)] if code else []
    return runner.invoke(
        app,
        ["train", "--local", "--train", str(data), "--hp", hp, *source, "--job-name", job_name],
        env={"COLUMNS": str(columns)},
    )


def test_train_and_status_print_paths_whole_on_an_80_column_terminal(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    name = "a-job-name-long-enough-that-its-paths-pass-eighty-columns"
    result = _train(name, train_data, "num_round=1", code=train_code, columns=80)
    assert result.exit_code == 0, result.output
    model = tmp_path / ".sagestack/artifacts" / name / "output/model.tar.gz"
    assert len(str(model)) > 80 and model.is_file()
    assert f"Model:     {model}\n" in result.output
    listed = runner.invoke(app, ["status", "--local"], env={"COLUMNS": "80"}).output
    assert f"model.tar.gz of {name}: {model}\n" in listed


def test_train_takes_the_content_type_from_the_file_extension(
    tmp_path: Path, train_code: Path, train_data: Path
) -> None:
    result = _train("ext-job", train_data, "num_round=1", code=train_code)
    assert result.exit_code == 0, result.output
    assert "channel train: ContentType text/csv (from the file extension" in result.output
    config = next((tmp_path / ".sagestack/jobs/ext-job").rglob("inputdataconfig.json"))
    assert json.loads(config.read_text())["train"]["ContentType"] == "text/csv"


def test_progress_of_code_other_than_the_bundled_script_is_the_time_elapsed(
    train_code: Path, train_data: Path
) -> None:
    result = _train("custom-progress", train_data, "num_round=2", code=train_code)
    assert result.exit_code == 0, result.output
    assert "custom-progress running, elapsed 0:00:0" in result.output
    assert "rounds" not in result.output  # not 2/2, 1/200 or 0/?
    bundled = _train("xgboost-progress", train_data, "num_round=2")
    assert bundled.exit_code == 0, bundled.output
    assert "2/2 rounds" in bundled.output


def test_ctrl_c_stops_the_job_in_one_line_and_records_it_stopped(
    train_code: Path, train_data: Path
) -> None:
    ctrl_c = threading.Timer(1.5, _thread.interrupt_main)
    ctrl_c.start()
    result = _train("hung", train_data, "fail=hang", code=train_code)
    ctrl_c.join()
    assert result.exit_code == 130, result.output
    assert "Training job hung stopped (Ctrl-C); job dir: " in result.output
    assert "Traceback" not in result.output
    listed = runner.invoke(app, ["status", "--local"], env={"COLUMNS": "250"}).output
    assert "Stopped" in next(line for line in listed.splitlines() if "hung" in line)


def test_train_failure_exits_non_zero_with_the_message(train_code: Path, train_data: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--local", "--train", str(train_data), "--hp", "fail=message",
         "--source-dir", str(train_code)],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Missing required channel: train has no CSV files" in result.output


def test_fails_on_a_misspelt_hyperparameter_before_launching(train_data: Path) -> None:
    result = runner.invoke(
        app,
        ["train", "--local", "--train", str(train_data), "--hp", "num_round=3",
         "--hp", "max_dept=3"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "max_dept (did you mean max_depth" in " ".join(result.output.split())
    assert not Path(".sagestack/jobs").exists()  # nothing was launched


def test_train_requires_local_and_a_channel(train_data: Path) -> None:
    assert runner.invoke(app, ["train", "--train", str(train_data)]).exit_code == 2
    result = runner.invoke(app, ["train", "--local"])
    assert result.exit_code == 2 and "--train" in result.output


def test_invoke_a_file_and_stdin(endpoint: LocalEndpoint, tmp_path: Path) -> None:
    body = tmp_path / "rows.csv"
    body.write_text("1,2")
    result = runner.invoke(
        app, ["invoke", "--url", endpoint.url, "--accept", "text/csv", str(body)]
    )
    assert result.exit_code == 0
    assert result.stdout == "w1|str|text/csv|text/csv|3\n"  # a text answer ends its line
    result = runner.invoke(app, ["invoke", "--endpoint-url", endpoint.url, "-"], input="1,2,3")
    assert result.exit_code == 0
    assert result.stdout.startswith("w1|str|text/csv|")


def test_invoke_error_exits_non_zero_with_the_message(endpoint: LocalEndpoint) -> None:
    result = runner.invoke(app, ["invoke", "--url", endpoint.url, "-"], input="415")
    assert result.exit_code == 1
    assert "HTTP 415" in result.output and "unsupported here" in result.output
    result = runner.invoke(app, ["invoke", "--endpoint-url", endpoint.url, "-"], input="boom")
    assert result.exit_code == 1
    assert "HTTP 500" in result.output and "boom from transform_fn" in result.output


def test_serve_reports_a_corrupt_archive(tmp_path: Path, inference_code: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_text("corrupt")
    result = runner.invoke(
        app, ["serve", "--local", str(bad), "--code-dir", str(inference_code), "--port", "0"]
    )
    assert result.exit_code == 1
    assert "Cannot start the endpoint" in result.output
    assert "cannot read model archive" in result.output


@pytest.mark.parametrize(
    ("host", "warned"),
    [("0.0.0.0", True), ("::", True), ("127.0.0.1", False), ("localhost", False), ("::1", False)],
)
def test_serve_warns_when_binding_off_loopback(
    host: str, warned: bool, tmp_path: Path, inference_code: Path
) -> None:
    bad = tmp_path / "model.tar.gz"  # fails at start-up, after the warning would be printed
    bad.write_text("corrupt")
    result = runner.invoke(
        app,
        ["serve", "--local", str(bad), "--code-dir", str(inference_code), "--host", host],
        env={"COLUMNS": "300"},
    )
    assert result.exit_code == 1 and "Cannot start the endpoint" in result.output
    warning = f"Warning: --host {host} is not a loopback address. Anyone who can reach"
    assert (warning in result.output) is warned, result.output


def test_serve_until_ctrl_c(model_tar: Path, inference_code: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    import requests

    process = subprocess.Popen(
        [sys.executable, "-m", "sagestack.cli", "serve", "--local", str(model_tar),
         "--code-dir", str(inference_code), "--port", "0", "--workers", "1"],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert url, line
        assert requests.get(f"{url.group(0)}/ping", timeout=5).status_code == 200
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Stopped." in output


def test_stop_an_endpoint_that_sagestack_serve_started(
    model_tar: Path, inference_code: Path
) -> None:
    from cli_serve import serve_in_background

    process, url, _ = serve_in_background(
        model_tar, "--code-dir", str(inference_code), "--name", "mine"
    )
    try:
        listed = runner.invoke(app, ["status", "--local"], env={"COLUMNS": "250"})
        assert listed.exit_code == 0, listed.output
        row = next(line for line in listed.output.splitlines() if "mine" in line)
        assert "InService" in row and str(process.pid) in row and url in row
        assert "sagestack serve" in listed.output and str(model_tar) in listed.output

        stopped = runner.invoke(app, ["stop", "mine"])
        assert stopped.exit_code == 0, stopped.output
        assert f"mine: Stopped (pid {process.pid})" in stopped.output
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "mine" not in runner.invoke(app, ["status", "--local"]).output


def test_an_endpoint_outlives_the_process_that_started_it(
    model_tar: Path, inference_code: Path
) -> None:
    # SageMaker's rule: an endpoint runs until deleted, whatever happens to the client.
    import subprocess
    import sys

    import requests

    script = (
        "from sagestack.serving.endpoint import start_local_endpoint\n"
        "from sagestack.local.endpoints import write_record\n"
        f"e = start_local_endpoint({str(model_tar)!r}, code_dir={str(inference_code)!r}, "
        "workers=1, log=-3)\n"
        "write_record('orphan', pid=e.pid, url=e.url, model='m', started_by='a script')\n"
        "print(e.url)\n"
    )
    url = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    try:
        assert requests.get(f"{url}/ping", timeout=5).status_code == 200
    finally:
        stopped = runner.invoke(app, ["stop", "--all"])
    assert stopped.exit_code == 0 and "orphan: Stopped" in stopped.output
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/ping", timeout=5)


def test_status_tells_a_dead_endpoint_and_prune_drops_it() -> None:
    from sagestack.local.endpoints import write_record

    write_record("old", pid=2**22 + 1, url="http://127.0.0.1:1", model="m", started_by="x")
    listed = runner.invoke(app, ["status", "--local"], env={"COLUMNS": "250"})
    assert "Gone (process exited" in listed.output
    pruned = runner.invoke(app, ["stop", "--prune"])
    assert pruned.exit_code == 0 and "Dropped 1 record(s): old" in pruned.output
    assert "old" not in runner.invoke(app, ["status", "--local"]).output


def test_fails_to_stop_an_unknown_endpoint() -> None:
    result = runner.invoke(app, ["stop", "nope"])
    assert result.exit_code == 1 and "No local endpoint named 'nope'" in result.output
    assert runner.invoke(app, ["stop"]).exit_code == 2
