"""Fixtures for the console's tests: a fresh store per test, a client that passes the Host check."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

from sagestack.console import create_app

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
