"""The idle-stop script's decision and the deterministic SDK wheel (no synth needed)."""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import io
import subprocess
import zipfile
from pathlib import Path

import pytest

from stacks.constructs.notebook_scripts.idle_stop import last_activity, should_stop
from stacks.constructs.sdk_wheel import (
    KERNEL_REQUIREMENTS,
    REPO_ROOT,
    build_wheel,
    build_wheel_bytes,
    locked_constraints,
)

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)


def _status(minutes_ago: int) -> dict[str, str]:
    return {
        "last_activity": (NOW - dt.timedelta(minutes=minutes_ago))
        .isoformat()
        .replace("+00:00", "Z")
    }


def test_idle_long_enough_stops() -> None:
    assert should_stop(_status(61), [], NOW, idle_minutes=60)


def test_recent_activity_keeps_running() -> None:
    assert not should_stop(_status(59), [], NOW, idle_minutes=60)


def test_busy_kernel_is_never_idle() -> None:
    kernels = [{"execution_state": "busy", "last_activity": _status(600)["last_activity"]}]
    assert last_activity(_status(600), kernels) is None
    assert not should_stop(_status(600), kernels, NOW, idle_minutes=60)


def test_latest_kernel_activity_counts() -> None:
    kernels = [{"execution_state": "idle", "last_activity": _status(5)["last_activity"]}]
    assert not should_stop(_status(600), kernels, NOW, idle_minutes=60)


def test_wheel_is_byte_reproducible_and_complete() -> None:
    name, first = build_wheel_bytes(REPO_ROOT)
    _, second = build_wheel_bytes(REPO_ROOT)
    assert name == "sagestack-0.1.0-py3-none-any.whl"
    assert hashlib.sha256(first).digest() == hashlib.sha256(second).digest()
    with zipfile.ZipFile(io.BytesIO(first)) as wheel:
        names = wheel.namelist()
        assert names == sorted(names[:-4]) + names[-4:]  # package files sorted, then dist-info
        assert "sagestack/__init__.py" in names
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
        assert {i.date_time for i in wheel.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        record = wheel.read("sagestack-0.1.0.dist-info/RECORD").decode()
        assert len(record.splitlines()) == len(names)
        assert (
            "Requires-Python: >=3.11" in wheel.read("sagestack-0.1.0.dist-info/METADATA").decode()
        )


def test_build_wheel_writes_a_content_addressed_file() -> None:
    wheel = build_wheel()
    assert wheel.path.name == wheel.filename
    assert Path(wheel.path).read_bytes() == build_wheel_bytes(REPO_ROOT)[1]


def test_idle_stop_runs_on_the_instance_python_3_9() -> None:
    source = (REPO_ROOT / "stacks/constructs/notebook_scripts/idle_stop.py").read_text()
    ast.parse(source, feature_version=(3, 9))
    assert "dt.UTC" not in source  # added in 3.11


def test_constraints_pin_what_uv_export_pins_for_the_runtime_closure() -> None:
    uv = REPO_ROOT / ".uv" / "bin" / "uv"
    if not uv.is_file():
        pytest.skip("uv is not installed (`make setup` installs it)")
    exported = subprocess.run(
        [str(uv), "export", "--frozen", "--no-default-groups", "--no-emit-project",
         "--no-hashes", "--no-header", "--no-annotate", "--quiet", "--project", str(REPO_ROOT)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pins = {line.split(" ;")[0].strip() for line in exported.splitlines() if "==" in line}
    assert set(locked_constraints(REPO_ROOT).splitlines()) == pins
    assert len(pins) > 40  # the closure, not just the direct requirements


def test_kernel_constraints_add_ipykernel_as_locked() -> None:
    lines = locked_constraints(REPO_ROOT, KERNEL_REQUIREMENTS).splitlines()
    names = [line.split("==")[0] for line in lines]
    assert names == sorted(names)
    assert "ipykernel==7.4.0" in lines and "xgboost-cpu==3.2.0" in lines
    assert not [line for line in lines if line.startswith(("aws-cdk-lib", "pytest", "sagestack"))]


def test_wheel_bundles_the_training_and_serving_code_and_declares_its_requirements() -> None:
    _, data = build_wheel_bytes(REPO_ROOT)
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        names = set(wheel.namelist())
        metadata = wheel.read("sagestack-0.1.0.dist-info/METADATA").decode()
    assert "sagestack/_bundled/training/train.py" in names
    assert "sagestack/_bundled/inference/inference.py" in names
    assert "Requires-Dist: xgboost-cpu==3.2.0" in metadata
    assert "aws-cdk" not in metadata
