"""notebooks/quickstart.ipynb runs top to bottom in local mode (nbclient, a real kernel)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow  # executes the whole quickstart notebook

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        elif "text/plain" in output.get("data", {}):
            parts.append(output["data"]["text/plain"])
    return "".join(parts)


def test_quickstart_runs_in_local_mode(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=180,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    printed = "\n".join(_text(cell) for cell in notebook.cells if cell.cell_type == "code")
    accuracies = [float(v) for v in re.findall(r"validation accuracy: ([0-9.]+)", printed)]
    assert len(accuracies) == 2 and min(accuracies) > 0.9, printed
    assert (tmp_path / "my_model.py").is_file()
    # Both endpoints were deleted: no endpoint record is left behind.
    assert list((tmp_path / ".sagestack" / "endpoints").glob("*.json")) == []
