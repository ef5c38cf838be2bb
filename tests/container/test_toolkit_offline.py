"""Our training and serving code under the official XGBoost image's own toolkit, with no network.

Every run happens in a sandbox (sandbox.py) with the image's Python packages (toolkit.lock.txt)
and no route anywhere, as in the VPCs the stacks deploy. The launch details come from the same
functions the stacks and the SDK call (sagestack.contract.launch), and the training code is the
archive the Training stack uploads. The ``..._without_the_fix_...`` tests are the controls: they
show the sandbox is really offline and that the fix is what makes the others pass.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import xgboost as xgb

from sagestack.contract.launch import (
    CODE_CHANNEL,
    CODE_CHANNEL_DIR,
    TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
    training_entrypoint,
)
from sagestack.serving.endpoint import start_local_endpoint
from sagestack.serving.supervisor import StartupError
from stacks.constructs.source_asset import archive_bytes
from stacks.constructs.training.construct import code_asset_props

from .sandbox import HERE, REPO, run_in_image, write_training_config

ARCHIVE = "training-code.tar.gz"
pytestmark = [pytest.mark.container, pytest.mark.slow]

HYPERPARAMETERS = {"objective": "binary:logistic", "num_round": "20", "eval_metric": "auc"}
# What the toolkit needs to find the script (a tuning job's fixed hyperparameters).
TOOLKIT_HYPERPARAMETERS = {
    "sagemaker_program": "train.py",
    "sagemaker_submit_directory": f"{CODE_CHANNEL_DIR}/{ARCHIVE}",
    "sagemaker_region": "eu-west-1",
    "sagemaker_container_log_level": "20",
}
# The Serving stack's model environment for a model whose archive carries code/ (the region is a
# CloudFormation reference there). No nginx in this sandbox: gunicorn listens on 8080 itself.
SERVING_ENVIRONMENT = {
    "SAGEMAKER_PROGRAM": "inference.py",
    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    "SAGEMAKER_REGION": "eu-west-1",
    "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
    "SAGEMAKER_USE_NGINX": "false",
    "SAGEMAKER_MODEL_SERVER_WORKERS": "1",
}


def _rows(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(count, 4)).round(4)
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(int)
    return np.column_stack([labels, features])


def _csv(rows: np.ndarray) -> str:
    return "".join(",".join(f"{v:g}" for v in row) + "\n" for row in rows)


def _job_folder(tmp: Path, hyperparameters: dict[str, str], header: bool = False) -> Path:
    """/opt/ml for a one-host job: train and validation CSV channels and the code channel."""
    opt_ml = tmp / "opt_ml"
    data = opt_ml / "input" / "data"
    for channel, seed in (("train", 1), ("validation", 2)):
        (data / channel).mkdir(parents=True)
        text = _csv(_rows(200, seed))
        if header and channel == "train":
            text = "label,f0,f1,f2,f3\n" + text
        (data / channel / f"{channel}.csv").write_text(text)
    (data / CODE_CHANNEL).mkdir()
    # Built as the Training stack builds it: the scripts, inference/ and sagestack.contract, and
    # nothing else of sagestack (the toolkit venv has no sagestack installed).
    archive = archive_bytes(code_asset_props(REPO / "training", REPO / "inference"))
    (data / CODE_CHANNEL / ARCHIVE).write_bytes(archive)
    write_training_config(
        opt_ml, hyperparameters, {"train": "text/csv", "validation": "text/csv", "code": ""}
    )
    return opt_ml


def _train_with_entrypoint(tmp: Path, header: bool = False) -> tuple[Path, Any]:
    """A training job as the Training stack and the SDK define it: ContainerEntrypoint, no env."""
    opt_ml = _job_folder(tmp, HYPERPARAMETERS, header)
    done = run_in_image(opt_ml, training_entrypoint(ARCHIVE, "train.py"), {}, tmp / "home")
    return opt_ml, done


def _train_with_toolkit(tmp: Path, environment: dict[str, str], header: bool = False):
    """A tuning job's training: the image's ``train`` command, through the toolkit."""
    opt_ml = _job_folder(tmp, HYPERPARAMETERS | TOOLKIT_HYPERPARAMETERS, header)
    return opt_ml, run_in_image(opt_ml, ["train"], environment, tmp / "home")


def _booster(model_dir: Path) -> xgb.Booster:
    booster = xgb.Booster()
    booster.load_model(bytearray((model_dir / "xgboost-model").read_bytes()))
    return booster


def _failure(opt_ml: Path) -> str:
    path = opt_ml / "output" / "failure"
    return path.read_text() if path.exists() else ""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    return _train_with_entrypoint(tmp_path_factory.mktemp("entrypoint"))


def test_training_job_runs_offline_from_its_entrypoint(trained: tuple[Path, Any]) -> None:
    opt_ml, done = trained
    assert done.returncode == 0, done.stdout + done.stderr
    assert _failure(opt_ml) == ""
    assert _booster(opt_ml / "model").num_boosted_rounds() > 0
    assert (opt_ml / "model" / "code" / "inference.py").is_file()
    # Nothing was pip-installed: the toolkit never ran.
    assert "pip install" not in done.stdout + done.stderr


def test_a_bad_data_job_reports_the_scripts_own_reason(tmp_path: Path) -> None:
    opt_ml, done = _train_with_entrypoint(tmp_path, header=True)
    assert done.returncode != 0
    reason = _failure(opt_ml)
    # What DescribeTrainingJob.FailureReason shows: train.py's one line, naming the file.
    assert "header" in reason and "train.csv" in reason, reason
    assert "ExecuteUserScriptError" not in reason


def test_toolkit_training_installs_offline_with_the_fix(tmp_path: Path) -> None:
    opt_ml, done = _train_with_toolkit(tmp_path, dict(TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT))
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "-m pip install ." in output  # the toolkit's install step did run
    assert (opt_ml / "model" / "xgboost-model").is_file()


def test_toolkit_training_without_the_fix_fails_offline(tmp_path: Path) -> None:
    opt_ml, done = _train_with_toolkit(tmp_path, {})
    assert done.returncode != 0
    assert "InstallModuleError" in _failure(opt_ml)
    assert not (opt_ml / "model" / "xgboost-model").exists()


def test_toolkit_training_replaces_the_reason_but_logs_it(tmp_path: Path) -> None:
    """Why training jobs use ContainerEntrypoint: through the toolkit (only tuning jobs now),
    FailureReason is the toolkit's, and the script's reason is only in the log."""
    opt_ml, done = _train_with_toolkit(
        tmp_path, dict(TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT), header=True
    )
    assert done.returncode != 0
    assert _failure(opt_ml).startswith("ExecuteUserScriptError")
    # The script's one line is the log's last before the toolkit's error (as README says).
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    toolkit_error = next(i for i, line in enumerate(lines) if "ExecuteUserScriptError" in line)
    assert lines[toolkit_error - 1].startswith("ERROR: ") and "header" in lines[toolkit_error - 1]


def _requests(rows: np.ndarray) -> list[dict[str, Any]]:
    csv_body = _csv(rows[:, 1:]).strip()
    return [
        {"path": "/invocations", "body": csv_body, "headers": {"Content-Type": "text/csv"}},
        {
            "path": "/invocations",
            "body": csv_body,
            "headers": {"Content-Type": "text/csv", "Accept": "application/json"},
        },
        {"path": "/invocations", "body": "1,2", "headers": {"Content-Type": "text/csv"}},
        {"path": "/invocations", "body": "{}", "headers": {"Content-Type": "image/png"}},
        {"path": "/execution-parameters", "body": None},  # GET
        {"path": "/models", "body": None},
    ]


def _serve(tmp: Path, model_dir: Path, environment: dict[str, str], rows: np.ndarray) -> dict:
    opt_ml = tmp / "opt_ml"
    shutil.copytree(model_dir, opt_ml / "model")
    argv = [
        "python3",
        str(HERE / "serve_and_query.py"),
        json.dumps(_requests(rows)),
        "90",
    ]
    done = run_in_image(opt_ml, argv, SERVING_ENVIRONMENT | environment, tmp / "home")
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_endpoint_serves_offline_exactly_like_the_local_runtime(
    trained: tuple[Path, Any], tmp_path: Path
) -> None:
    opt_ml, done = trained
    assert done.returncode == 0
    model_dir = opt_ml / "model"
    rows = _rows(25, 3)
    served = _serve(tmp_path, model_dir, dict(TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT), rows)
    assert served["ping"] == 200, served["server_output"][-3000:]

    local = []  # the local runtime's answers to the same requests
    log = (tmp_path / "local.log").open("wb")
    with start_local_endpoint(model_dir, workers=1, log=log) as endpoint:
        for item in _requests(rows):
            answer = requests.request(
                "GET" if item["body"] is None else "POST",
                endpoint.url + item["path"],
                data=item["body"],
                headers=item.get("headers"),
            )
            local.append(
                {
                    "status": answer.status_code,
                    "content_type": answer.headers.get("Content-Type"),
                    "body": answer.text,
                }
            )
    container = served["responses"]
    assert [r["status"] for r in container] == [200, 200, 400, 415, 404, 404]
    assert [r["status"] for r in container] == [r["status"] for r in local]
    # The bodies of our handlers' answers are the same bytes; the 404 pages are the servers'
    # own (Flask's HTML there, a JSON message here), a difference the README lists.
    assert [r["body"] for r in container[:4]] == [r["body"] for r in local[:4]]
    # And the predictions are the model's own.
    expected = _booster(model_dir).predict(xgb.DMatrix(rows[:, 1:]))
    got = [p["probability"] for p in json.loads(container[0]["body"])["predictions"]]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_endpoint_without_the_fix_never_answers_ping(
    trained: tuple[Path, Any], tmp_path: Path
) -> None:
    opt_ml, done = trained
    assert done.returncode == 0
    served = _serve(tmp_path, opt_ml / "model", {}, _rows(2, 4))
    assert served["ping"] is None
    assert served["server_exited"] is not None
    assert "InstallModuleError" in served["server_output"]


def test_code_that_cannot_be_installed_offline_fails_locally_with_the_toolkits_error(
    trained: tuple[Path, Any], tmp_path: Path
) -> None:
    """A requirements.txt naming a package the image lacks: the container's install needs an
    index and the endpoint never starts; the local runtime refuses to start with the same error."""
    opt_ml, done = trained
    assert done.returncode == 0
    model_dir = tmp_path / "model"
    shutil.copytree(opt_ml / "model", model_dir)
    missing = "sagestack-no-such-package==1.0"
    (model_dir / "code" / "requirements.txt").write_text(f"numpy\n{missing}\n")

    served = _serve(
        tmp_path / "container", model_dir, dict(TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT), _rows(2, 5)
    )
    assert served["ping"] is None
    container = served["server_output"]
    assert "InstallModuleError" in container, container[-3000:]
    pip_lines = (
        f"ERROR: Could not find a version that satisfies the requirement {missing} "
        f"(from versions: none)\nERROR: No matching distribution found for {missing}\n"
    )
    assert pip_lines in container, container[-3000:]

    log = (tmp_path / "local.log").open("wb")
    with pytest.raises(StartupError) as failed, start_local_endpoint(model_dir, workers=1, log=log):
        pass
    local = str(failed.value)
    assert "InstallModuleError" in local and "pip install . -r requirements.txt" in local
    assert pip_lines in local
    assert "requirements.txt line 2" in local  # numpy on line 1 is installed on both sides
