"""Fixtures for the console's tests: a fresh store per test, a client that passes the Host check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient
from waiting import wait_until

from sagestack.console import create_app, store

HOST, PORT = "127.0.0.1", 8000
BASE = f"http://{HOST}:{PORT}"


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test its own .sagestack/ (the store is relative to the working dir)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path / ".sagestack"


@pytest.fixture
def client(store_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(HOST, PORT, max_upload_bytes=2 << 20), base_url=BASE) as c:
        yield c


def csrf(client: TestClient, page: str = "/training-jobs") -> str:
    """Load a page (which sets the cookie) and return the token its forms carry."""
    html = client.get(page).text
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html) or re.search(
        r'"X-CSRF-Token": "([0-9a-f]{64})"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def submit(client: TestClient, path: str, fields: dict[str, Any], **kwargs: Any) -> Any:
    """POST a form to ``path`` as its own page would: with the CSRF token that page carries."""
    token = csrf(client, path)
    return client.post(path, data={"csrf_token": token, **fields}, **kwargs)


def ended_record(name: str) -> dict[str, Any]:
    """The local job's record once it says it has ended (polled; 120 s is a stuck test)."""
    record: dict[str, Any] = wait_until(
        lambda: (r := store.read_json(store.record_path(name))) and r.get("ended") and r,
        120,
        f"job {name} to end",
    )
    return record


def make_csv(path: Path, rows: int = 200, header: bool = True, labels: str = "binary") -> Path:
    """A small separable data set: the label depends on the first two features."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(rows, 4))
    if labels == "binary":
        y = (x[:, 0] + x[:, 1] > 0).astype(int).astype(str)
    elif labels == "names":
        y = np.where(x[:, 0] > 0.5, "high", np.where(x[:, 0] < -0.5, "low", "mid"))
    else:
        y = np.char.mod("%.4f", 3 * x[:, 0] - x[:, 2])
    lines = ["f1,f2,f3,f4,label"] if header else []
    lines += [
        ",".join([*(f"{v:.5f}" for v in row), str(lab)]) for row, lab in zip(x, y, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# ------------------------------------------------------------------ AWS mode (moto on loopback)


@pytest.fixture(scope="session")
def moto_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's one synthesized app (tests/synth_once.py), shared with tests/infra."""
    from synth_once import synthesized_once

    def synthesize(outdir: Path) -> None:
        from infra.conftest import synthesize as synthesize_app

        synthesize_app(outdir)

    return synthesized_once(tmp_path_factory.getbasetemp(), synthesize)


@pytest.fixture(scope="session")
def moto_environment(moto_assembly: Path) -> Iterator[Any]:
    """The dev environment deployed into one moto_server per session (per xdist worker)."""
    from console.moto_env import deploy_dev, moto_server

    with moto_server() as url:
        yield deploy_dev(url, moto_assembly)


@pytest.fixture
def aws_env(moto_environment: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """boto3's default chain pointed at moto: dummy keys in the environment, no config files."""
    for key, value in moto_environment.environ().items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    return moto_environment


@pytest.fixture
def aws_connection(aws_env: Any) -> Any:
    from sagestack.deployed.connection import Connection

    return Connection.open("dev")


@pytest.fixture
def aws_client(aws_connection: Any) -> Iterator[TestClient]:
    app = create_app(HOST, PORT, max_upload_bytes=2 << 20, connection=aws_connection)
    with TestClient(app, base_url=BASE) as c:
        yield c
