"""Reliability fixtures: tiny trained models, one local server per session, the shared cloud
assembly, and a record of how many fuzz cases each property ran.

training/ and inference/ are flat script directories (that is how SageMaker runs them), so they
go on sys.path and are imported by their plain names, as in the container.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from script_dirs import REPO
from synth_once import shared_dir, synthesized_once

from sagestack.local.archive import create_tar_gz  # noqa: E402
from sagestack.serving.endpoint import LocalEndpoint, start_local_endpoint  # noqa: E402

NUM_FEATURES = 4
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # InvokeEndpoint's BodyBlob maximum

# Bounded fuzzing: enough examples to reach the odd branches, few enough that the whole
# directory stays under two minutes on two cores. No deadline: a 6 MiB body or a worker that
# is busy with another test's request is slow without being wrong.
FUZZ = settings(
    max_examples=int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "250")),
    deadline=None,
    print_blob=True,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)


# --------------------------------------------------------------------------- fuzz case counts


class CaseCounter:
    """Counts the cases a property ran and records them for the end-of-run summary."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, name: str, cases: int, **details: Any) -> None:
        line = json.dumps({"test": name, "cases": cases, **details})
        print(f"[reliability] {line}")
        with open(self.path, "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(line + "\n")


@pytest.fixture(scope="session")
def case_counter(tmp_path_factory: pytest.TempPathFactory) -> CaseCounter:
    return CaseCounter(shared_dir(tmp_path_factory.getbasetemp()) / "reliability-cases.jsonl")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    """Print the fuzz case counts (recorded by every worker) once, at the end of the run."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or os.environ.get("PYTEST_XDIST_WORKER"):
        return
    try:
        path = factory.getbasetemp() / "reliability-cases.jsonl"
    except (OSError, ValueError):
        return
    if not path.exists():
        return
    terminalreporter.section("reliability: cases run")
    for line in path.read_text(encoding="utf-8").splitlines():
        terminalreporter.write_line(line)


# --------------------------------------------------------------------------- models


def train_booster(kind: str, rows: int = 300, seed: int = 0) -> bytes:
    """A small XGBoost model of one kind, as UBJSON (what train.py saves)."""
    import xgboost as xgb

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, NUM_FEATURES)).astype(np.float32)
    if kind == "binary":
        params = {"objective": "binary:logistic"}
        y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float32)
    elif kind == "multiclass":
        params = {"objective": "multi:softprob", "num_class": 3}
        y = np.digitize(x[:, 0], [-0.5, 0.5]).astype(np.float32)
    elif kind == "regression":
        params = {"objective": "reg:squarederror"}
        y = x[:, 0] * 2 + x[:, 2]
    else:
        raise ValueError(kind)
    booster = xgb.train({**params, "nthread": 1}, xgb.DMatrix(x, label=y), num_boost_round=5)
    return bytes(booster.save_raw("ubj"))


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """kind -> a model directory holding only `xgboost-model`, as /opt/ml/model would."""
    root = tmp_path_factory.mktemp("models")
    dirs = {}
    for kind in ("binary", "multiclass", "regression"):
        directory = root / kind
        directory.mkdir()
        (directory / "xgboost-model").write_bytes(train_booster(kind))
        dirs[kind] = directory
    return dirs


@pytest.fixture(scope="session")
def model_tar(model_dirs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The binary model as SageMaker hands it to an endpoint: model.tar.gz."""
    return create_tar_gz(
        model_dirs["binary"], tmp_path_factory.mktemp("model_tar") / "model.tar.gz"
    )


@pytest.fixture(scope="session")
def endpoint(model_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalEndpoint]:
    """One two-worker local server (the repository's inference.py) for the whole session."""
    log = tmp_path_factory.mktemp("endpoint_log") / "server.log"
    with open(log, "wb") as sink, start_local_endpoint(model_tar, workers=2, log=sink) as running:
        yield running


def server_log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --------------------------------------------------------------------------- the cloud assembly


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole app synthesized once per session, shared with tests/infra's `synth` fixture
    (tests/synth_once.py); aws_cdk (which starts Node) is imported only if this one synthesizes.
    """

    def synthesize(outdir: Path) -> None:
        from infra.conftest import synthesize as synthesize_app

        synthesize_app(outdir)

    return synthesized_once(tmp_path_factory.getbasetemp(), synthesize)


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    """cdk.json's context (feature flags and SageStack settings), read without aws_cdk."""
    return json.loads((REPO / "cdk.json").read_text())["context"]  # type: ignore[no-any-return]
