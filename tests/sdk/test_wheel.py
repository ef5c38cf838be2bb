"""The wheel alone fits and deploys: built, installed in a fresh venv outside the repository.

The venv gets the wheel and its declared requirements at the versions uv.lock pins (from uv's
cache when `make setup` filled it, else from the package index), and nothing else: no checkout,
no CDK libraries. A script run from a directory outside the repository trains, serves and
queries the bundled XGBoost model and a user's own model, and checks the predictions
in-process.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from stacks.constructs.sdk_wheel import build_wheel_bytes

REPO = Path(__file__).resolve().parents[2]
BUNDLED = {"training": "sagestack/_bundled/training", "inference": "sagestack/_bundled/inference"}

USER_MODEL = '''"""Least squares on the features plus an intercept: numpy only."""

import numpy as np

from sagestack import Model


class LeastSquares(Model):
    def train(self, train, validation, hyperparameters):
        design = np.column_stack([train.X, np.ones(len(train.X))])
        return np.linalg.lstsq(design, train.y, rcond=None)[0]

    def predict(self, model, features):
        features = np.asarray(features, dtype=float)
        return np.column_stack([features, np.ones(len(features))]) @ model
'''

SCRIPT = """
import io
import json
import sys
import tarfile
from pathlib import Path

import numpy as np
import xgboost as xgb

import sagestack
from sagestack import PredictorInstance, S3DataSource, TrainingInstance, XGBoostModel
from sagestack import paths
from least_squares import LeastSquares

rng = np.random.default_rng(7)
x = rng.standard_normal((160, 4))
y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
for name, rows in (("train", slice(0, 120)), ("validation", slice(120, None))):
    Path("data", name).mkdir(parents=True)
    np.savetxt(f"data/{name}/part-0.csv", np.column_stack([y[rows], x[rows]]), delimiter=",")
data = {name: S3DataSource.local(f"data/{name}") for name in ("train", "validation")}
x_val = x[120:]

xgb_model = XGBoostModel()
artifacts = xgb_model.fit(
    TrainingInstance("local"), data, {"objective": "binary:logistic", "num_round": 10}
)
with xgb_model.deploy(PredictorInstance("local"), artifacts) as predictor:
    served = np.asarray(predictor.predict(x_val), dtype=float)
with tarfile.open(artifacts.path) as archive:
    raw = archive.extractfile("xgboost-model").read()
booster = xgb.Booster()
booster.load_model(bytearray(raw))
in_process = booster.predict(xgb.DMatrix(x_val))

user_model = LeastSquares()
user_artifacts = user_model.fit(TrainingInstance("local"), data)
with user_model.deploy(PredictorInstance("local"), user_artifacts) as predictor:
    user_served = np.asarray(predictor.predict(x_val), dtype=float)
design = np.column_stack([x[:120], np.ones(120)])
weights = np.linalg.lstsq(design, y[:120], rcond=None)[0]
user_in_process = np.column_stack([x_val, np.ones(len(x_val))]) @ weights

try:
    import aws_cdk  # noqa: F401
    cdk = True
except ImportError:
    cdk = False
Path("result.json").write_text(json.dumps({
    "python": sys.executable,
    "sagestack": sagestack.__file__,
    "training_dir": str(paths.training_dir()),
    "inference_dir": str(paths.inference_dir()),
    "xgboost_served": served.tolist(),
    "xgboost_in_process": in_process.tolist(),
    "user_served": user_served.tolist(),
    "user_in_process": user_in_process.tolist(),
    "aws_cdk_installed": cdk,
}))
"""


def _uv() -> str:
    local = REPO / ".uv" / "bin" / "uv"  # what `make setup` installs, the pinned version
    found = str(local) if local.is_file() else shutil.which("uv")
    if found is None:
        pytest.skip("uv is not installed (`make setup` installs it)")
    return found


def _clean_env() -> dict[str, str]:
    """This process's environment minus what would point the venv back at the repository."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "SAGESTACK_ENV")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _uv_run(args: list[str], cwd: Path) -> None:
    """Offline first (everything is in uv's cache after `make setup`), the index otherwise."""
    env = _clean_env()
    offline = subprocess.run([*args, "--offline"], cwd=cwd, env=env, capture_output=True, text=True)
    if offline.returncode == 0:
        return
    online = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    assert online.returncode == 0, f"{args}:\n{offline.stderr}\n{online.stderr}"


def _requires_dist(wheel: zipfile.ZipFile) -> set[str]:
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    lines = wheel.read(metadata).decode().splitlines()
    return {
        line.removeprefix("Requires-Dist: ") for line in lines if line.startswith("Requires-Dist:")
    }


def _source_files(directory: Path) -> set[str]:
    return {
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.mark.slow
def test_the_installed_wheel_fits_deploys_and_predicts_without_the_repository(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    uv = _uv()
    dist = tmp_path / "dist"
    _uv_run([uv, "build", "--wheel", "--quiet", "--out-dir", str(dist), str(REPO)], tmp_path)
    (wheel,) = dist.glob("sagestack-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    for directory, target in BUNDLED.items():
        packed = {n[len(target) + 1 :] for n in names if n.startswith(f"{target}/")}
        assert packed == _source_files(REPO / directory), directory  # every file, new ones too
    # The wheel synth ships to the notebook and the dev box (stacks/constructs/sdk_wheel.py,
    # built without hatchling): the same files and the same requirements as this one.
    _, synth_bytes = build_wheel_bytes(REPO)
    with zipfile.ZipFile(io.BytesIO(synth_bytes)) as synth_wheel, zipfile.ZipFile(wheel) as built:
        assert {n for n in synth_wheel.namelist() if ".dist-info/" not in n} == {
            n for n in names if ".dist-info/" not in n
        }
        assert _requires_dist(synth_wheel) == _requires_dist(built)

    # The lock's versions for the wheel's own requirements (no dev or infra groups).
    constraints = tmp_path / "constraints.txt"
    _uv_run(
        [
            uv,
            "export",
            "--frozen",
            "--no-default-groups",
            "--no-emit-project",
            "--no-hashes",
            "--quiet",
            "--format",
            "requirements-txt",
            "--project",
            str(REPO),
            "--output-file",
            str(constraints),
        ],
        tmp_path,
    )
    venv = tmp_path / "venv"
    _uv_run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], tmp_path)
    python = venv / "bin" / "python"
    _uv_run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--constraint",
            str(constraints),
            str(wheel),
        ],
        tmp_path,
    )
    installed = time.monotonic()

    work = tmp_path / "work"
    work.mkdir()
    (work / "least_squares.py").write_text(USER_MODEL)
    (work / "check.py").write_text(SCRIPT)
    run = subprocess.run(
        [str(python), "check.py"],
        cwd=work,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    result = json.loads((work / "result.json").read_text())

    site = str(venv.resolve())
    assert result["sagestack"].startswith(site)  # the installed package, not the checkout
    assert result["training_dir"].startswith(site) and result["training_dir"].endswith(
        BUNDLED["training"]
    )
    assert result["inference_dir"].startswith(site)
    assert result["aws_cdk_installed"] is False  # the CDK libraries are the app's, not the SDK's
    assert len(result["xgboost_served"]) == 40
    assert result["xgboost_served"] == pytest.approx(result["xgboost_in_process"], abs=1e-6)
    assert result["user_served"] == pytest.approx(result["user_in_process"], abs=1e-9)
    assert not list(REPO.glob("sagestack/_bundled"))  # nothing was written into the checkout
    print(
        f"wheel test: build + venv + install {installed - started:.1f} s, "
        f"fit/deploy/predict/delete x2 {time.monotonic() - installed:.1f} s"
    )
