"""Skip nothing silently: the container tests need root (for unshare) and the toolkit venv."""

from __future__ import annotations

import os

import pytest

from .sandbox import TOOLKIT_VENV


@pytest.fixture(scope="session", autouse=True)
def _toolkit_ready() -> None:
    if os.geteuid() != 0:
        pytest.fail("the container tests cut the network with unshare, which needs root")
    if not (TOOLKIT_VENV / ".synced").exists():
        pytest.fail(f"{TOOLKIT_VENV} is missing: run `make test` (or `make .toolkit-venv/.synced`)")
