"""The scripts run in the SageMaker XGBoost 3.2-0 container with nothing installed at start-up."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest
from script_dirs import INFERENCE_DIR, TRAINING_DIR

# Third-party packages the container image ships (deep-learning-containers docker/xgboost).
CONTAINER_PACKAGES = {"xgboost", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "flask"}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize(
    "path", sorted([*TRAINING_DIR.glob("*.py"), *INFERENCE_DIR.glob("*.py")]), ids=lambda p: p.name
)
def test_imports_only_what_the_container_has(path: Path):
    siblings = {p.stem for p in path.parent.glob("*.py")}
    allowed = CONTAINER_PACKAGES | siblings | set(sys.stdlib_module_names) | {"__future__"}
    modules = imported_modules(path)
    if path.parent == TRAINING_DIR:
        # The training code archive carries sagestack.contract (and only that of sagestack).
        modules = {m for m in modules if m != "sagestack.contract"}
        modules = {m for m in modules if not m.startswith("sagestack.contract.")}
    unexpected = {m.split(".")[0] for m in modules} - allowed
    assert not unexpected, f"{path.name} imports {unexpected}"  # e.g. sagestack, sklearn


def test_sibling_module_names_do_not_shadow_container_packages():
    # pip-installing the submit dir puts these names at the top level of site-packages.
    names = {p.stem for p in [*TRAINING_DIR.glob("*.py"), *INFERENCE_DIR.glob("*.py")]}
    assert not names & {"distributed", "dask", "xgboost", "sagemaker_containers", "serving"}
    assert not {p.stem for p in TRAINING_DIR.glob("*.py")} & {
        p.stem for p in INFERENCE_DIR.glob("*.py")
    }
