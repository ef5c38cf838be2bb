"""The local runtime refuses code the container's offline install step would refuse
(tests/container proves the message against the toolkit itself)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagestack.serving.install_step import offline_install_error
from sagestack.serving.supervisor import StartupError, serve


def _code(tmp_path: Path, requirements: str | None) -> Path:
    if requirements is not None:
        (tmp_path / "requirements.txt").write_text(requirements)
    return tmp_path


@pytest.mark.parametrize(
    "requirements",
    [
        None,
        "",
        "# nothing\n\n",
        "numpy\n",
        f"numpy=={np.__version__}  # pinned\n",
        'not-installed-anywhere==1.0; python_version < "3"\n',
    ],
)
def test_code_that_installs_offline_passes(tmp_path: Path, requirements: str | None) -> None:
    assert offline_install_error(_code(tmp_path, requirements)) is None


@pytest.mark.parametrize(
    ("requirements", "named"),
    [
        ("numpy\nnot-installed-anywhere\n", "not-installed-anywhere"),
        ("numpy==0.0.1\n", "numpy==0.0.1"),
        (
            "--index-url https://example.invalid/simple\n",
            "--index-url https://example.invalid/simple",
        ),
        ("pkg @ https://example.invalid/pkg.whl\n", "pkg @ https://example.invalid/pkg.whl"),
    ],
)
def test_fails_when_a_requirement_needs_an_index(
    tmp_path: Path, requirements: str, named: str
) -> None:
    message = offline_install_error(_code(tmp_path, requirements))
    assert message is not None
    assert message.startswith(
        'InstallModuleError:\nCommand "python3 -m pip install . -r requirements.txt"'
    )
    assert f"satisfies the requirement {named} (from versions: none)" in message
    line = requirements.splitlines().index(named) + 1 if named in requirements.splitlines() else 1
    assert f"requirements.txt line {line}:" in message


def test_fails_to_serve_before_any_worker_starts(tmp_path: Path) -> None:
    code = tmp_path / "model" / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text("def transform_fn(model, body, content_type, accept):\n")
    (code / "requirements.txt").write_text("not-installed-anywhere\n")
    events: list[dict] = []
    with pytest.raises(StartupError, match="InstallModuleError") as failed:
        serve(tmp_path / "model", port=0, status=events.append)
    assert "not-installed-anywhere" in str(failed.value)
    assert events == []
