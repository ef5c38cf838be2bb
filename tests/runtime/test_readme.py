"""The README's local example and SDK quickstart run as written, from an empty directory."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sagestack.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"## {title}")
    return text[start : text.index("\n## ", start + 1)]


def _commands() -> list[list[str]]:
    block = re.search(r"```bash\n(.*?)```", _section("Train and serve locally"), re.S)
    assert block, "no bash block in the README's local section"
    joined = block.group(1).replace("\\\n", " ")
    return [shlex.split(line.split("#")[0]) for line in joined.splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_readme_cli_example_trains_as_written(tmp_path: Path) -> None:
    runner = CliRunner()
    commands = {argv[1]: argv for argv in _commands()}
    for name in ("example-data", "train"):
        assert commands[name][0] == ".venv/bin/sagestack"
        result = runner.invoke(app, commands[name][1:])
        assert result.exit_code == 0, result.output
    served = Path(commands["serve"][3])
    assert served.is_file(), f"{served} (the README's serve path) was not written"
    assert (tmp_path / commands["invoke"][-1]).is_file()


@pytest.mark.slow
def test_readme_sdk_quickstart_runs_as_written(tmp_path: Path) -> None:
    code = re.search(r"```python\n(.*?)```", _section("Train and serve locally"), re.S)
    assert code
    (tmp_path / "my_model.py").write_text(code.group(1))
    assert CliRunner().invoke(app, ["example-data", "data"]).exit_code == 0
    result = subprocess.run(
        [sys.executable, "my_model.py"], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("[") >= 2  # two printed prediction arrays
