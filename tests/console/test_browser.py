"""The console in a real headless Chromium (the system's; no browser download): CSV to a
tested endpoint checked against the SDK's predictions, a clone compared with its original,
plus a form error. SAGESTACK_UPDATE_SCREENSHOTS=1 refreshes docs/console/."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from waiting import free_port, running

from console.conftest import make_csv

pytestmark = pytest.mark.slow
playwright_api = pytest.importorskip("playwright.sync_api")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "console"


def _chromium() -> str:
    path = os.environ.get("SAGESTACK_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "no Chromium: `make test` installs Debian's chromium (or set SAGESTACK_CHROMIUM)"
        )
    return path


@pytest.fixture
def console_url(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sagestack.cli", "console", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    with running(process, up, "the console to listen"):
        yield url


@pytest.fixture
def page(tmp_path: Path) -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=_chromium(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def _shot(page: object, tmp_path: Path, name: str) -> None:
    target = tmp_path / "shots" / f"{name}.png"
    target.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    if os.environ.get("SAGESTACK_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(target, DOCS / f"{name}.png")


def _in_process_predictions(model_tar: Path, rows: np.ndarray) -> np.ndarray:
    """What XGBoost itself predicts from the archive's model, with no serving code between."""
    import xgboost as xgb

    with tarfile.open(model_tar) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        booster = xgb.Booster()
        booster.load_model(bytearray(member.read()))
    return np.asarray(booster.predict(xgb.DMatrix(rows)), dtype=float)


def _sdk_predictions(model_tar: Path, rows: np.ndarray) -> np.ndarray:
    """What the SDK's own local endpoint answers for the same model and rows."""
    from sagestack import PredictorInstance, S3DataSource, XGBoostModel

    predictor = XGBoostModel().deploy(
        PredictorInstance("local"), S3DataSource.local(model_tar, "application/x-tar")
    )
    try:
        return np.asarray(predictor.predict(rows), dtype=float)
    finally:
        predictor.delete()


def test_csv_to_tested_endpoint_in_the_browser(
    console_url: str, page, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the SDK's endpoint records go in the console's store
    csv = make_csv(tmp_path / "customers.csv", rows=300)
    page.goto(f"{console_url}/models/create")
    page.fill("input[name=name]", "churn-model")
    page.set_input_files("input[name=data]", str(csv))
    _shot(page, tmp_path, "create-model")
    page.click("#create-model")
    page.wait_for_url(f"{console_url}/training-jobs/churn-model")
    page.locator("#status", has_text="Completed").wait_for(timeout=180_000)
    assert page.locator("#charts svg").count() >= 1
    assert "validation:logloss" in page.locator("#final-metrics").inner_text()
    page.locator("#log", has_text="validation-logloss").wait_for()
    _shot(page, tmp_path, "training-job")

    page.goto(f"{console_url}/training-jobs")
    assert "churn-model" in page.locator("#jobs-table").inner_text()
    _shot(page, tmp_path, "training-jobs")

    page.goto(f"{console_url}/training-jobs/churn-model")
    page.click("#deploy")
    page.wait_for_url(f"{console_url}/endpoints/churn-model-ep")
    page.locator("#ep-status", has_text="InService").wait_for(timeout=120_000)
    page.reload()
    body = page.input_value("#invoke-body")
    assert body.strip(), "the form is pre-filled with validation rows"
    page.click("#invoke")
    page.locator("#invoke-response").wait_for()
    assert page.inner_text("#invoke-status") == "200"
    assert "curl" in page.inner_text("#invoke-curl")
    _shot(page, tmp_path, "endpoint-test")

    records = json.loads(page.inner_text("#invoke-response"))["predictions"]
    got = np.array([r["probability"] for r in records])
    rows = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
    model_tar = tmp_path / ".sagestack/artifacts/churn-model/output/model.tar.gz"
    np.testing.assert_allclose(got, _sdk_predictions(model_tar, rows), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, _in_process_predictions(model_tar, rows), rtol=1e-5, atol=1e-6)

    page.goto(f"{console_url}/endpoints")
    _shot(page, tmp_path, "endpoints")
    page.click("text=Stop and delete")
    page.locator("#endpoints-table", has_text="Deleted").wait_for()

    # Clone with a shallower tree; the list refreshes itself until the clone completes.
    page.goto(f"{console_url}/training-jobs/churn-model")
    page.click("text=Clone")
    assert page.input_value("input[name=job_name]") == "churn-model-2"
    max_depth = page.locator("tr", has=page.locator("input[value=max_depth]"))
    max_depth.locator("input").nth(1).fill("2")
    page.click("#create-job")
    page.wait_for_url(f"{console_url}/training-jobs/churn-model-2")
    page.goto(f"{console_url}/training-jobs")
    row = page.locator("#jobs-table tr", has_text="churn-model-2")
    row.locator(".s-completed").wait_for(timeout=180_000)  # no reload: the table polled
    page.check("input[value=churn-model]")
    page.check("input[value=churn-model-2]")
    page.click("text=Compare selected")
    page.wait_for_url(f"{console_url}/compare?*")
    differs = page.locator("#compare-table tr.differs", has_text="max_depth")
    assert sorted(differs.locator("td").all_inner_texts()[1:]) == ["2", "6"]
    assert page.locator("#compare-table tr.differs .diff-mark").count() >= 1
    overlaid = page.locator("figure", has_text="validation:logloss").locator("polyline")
    assert overlaid.count() == 2, "both jobs' validation curves in one chart"
    _shot(page, tmp_path, "compare")


def test_form_error_shows_beside_the_field(console_url: str, page, tmp_path: Path) -> None:
    page.goto(f"{console_url}/training-jobs/create")
    page.fill("input[name=job_name]", "bad_name!")
    page.fill("input[name=train_location]", str(tmp_path / "missing.csv"))
    page.fill("input[name=hp_name_1]", "objective")
    page.fill("input[name=hp_name_9]", "max_dept")
    page.fill("input[name=hp_value_9]", "4")
    page.click("#create-job")
    page.locator("#error-job_name").wait_for()
    assert "letters, digits or hyphens" in page.inner_text("#error-job_name")
    assert "does not exist" in page.inner_text("#error-train")
    assert "did you mean max_depth" in page.inner_text("#error-hyperparameters")
    _shot(page, tmp_path, "form-error")
    assert not (tmp_path / ".sagestack" / "console").exists()
