"""What ships to the container for a Model subclass, and the classes that cannot be shipped."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from sagestack import Model, S3DataSource, TrainingInstance, paths
from sagestack.sdk.errors import ConfigurationError
from sagestack.sdk.packaging import (
    BASE_MODULES,
    MANIFEST,
    ModelSpec,
    build_source_dir,
    model_spec,
)

from .numpy_models import NearestCentroid, NeedsArguments


def _files(directory: Path) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_source_dir_holds_entry_points_module_base_and_manifest(tmp_path: Path) -> None:
    spec, source = build_source_dir(NearestCentroid, tmp_path)
    assert spec.spec == "numpy_models:NearestCentroid"
    assert _files(source) == sorted(
        [
            "numpy_models.py",
            "sagestack_serve.py",
            "sagestack_train.py",
            MANIFEST,
            *{*BASE_MODULES, *paths.contract_files()},  # the scripts import sagestack.contract
        ]
    )
    manifest = json.loads((source / MANIFEST).read_text())
    assert manifest["model"] == "numpy_models:NearestCentroid"
    assert "sagestack_train.py" not in manifest["serve"]  # serving needs no training code
    # Content-addressed: the same inputs reuse the directory.
    assert build_source_dir(NearestCentroid, tmp_path)[1] == source


def test_public_api_imports_in_a_container_with_numpy_only(tmp_path: Path) -> None:
    """``from sagestack import <anything public>`` works from the packed directory with the
    host-side libraries (boto3, rich, the local runtime, scikit-learn) unavailable."""
    _, source = build_source_dir(NearestCentroid, tmp_path)
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(source)!r})
        BLOCKED = ("boto3", "botocore", "rich", "typer", "sklearn", "xgboost",
                   "sagestack.local", "sagestack.serving", "sagestack.sdk.backends")

        class Blocker:
            def find_spec(self, name, path=None, target=None):
                if name.startswith(BLOCKED):
                    raise ImportError(f"{{name}} is not in the container")
                return None

        sys.meta_path.insert(0, Blocker())
        import sagestack
        for name in sagestack.__all__:
            getattr(sagestack, name)
        import numpy_models
        loaded = [m.__file__ for n, m in sys.modules.items() if n.startswith("sagestack")]
        assert all(f.startswith({str(source)!r}) for f in loaded), loaded
        print(" ".join(f[len({str(source)!r}) + 1 :] for f in loaded))
        """
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    # Nothing shipped goes unused, but for the contract modules sagestack_train.py imports.
    assert set(BASE_MODULES) <= loaded
    assert loaded - set(BASE_MODULES) <= set(paths.contract_files())


def test_fails_for_a_class_without_a_file() -> None:
    cell = types.ModuleType("notebook_cell")
    sys.modules["notebook_cell"] = cell
    try:
        exec("from sagestack import Model\nclass InCell(Model):\n    pass\n", cell.__dict__)
        with pytest.raises(ConfigurationError, match="%%writefile my_model.py"):
            model_spec(cell.InCell)
    finally:
        del sys.modules["notebook_cell"]


def test_fails_for_a_nested_class() -> None:
    def make() -> type:
        class Inner(Model):
            pass

        return Inner

    with pytest.raises(ConfigurationError, match="define it at the top level of a .py file"):
        model_spec(make())


def test_fails_for_a_module_name_that_would_shadow_a_container_package(tmp_path: Path) -> None:
    path = tmp_path / "xgboost.py"
    path.write_text("from sagestack import Model\nclass Shadow(Model):\n    pass\n")
    with pytest.raises(ConfigurationError, match="cannot be shipped as module 'xgboost'"):
        model_spec_of_file(path, "Shadow")


SCRIPT_WITHOUT_MAIN_GUARD = """
import numpy as np
from sagestack import Model, S3DataSource, TrainingInstance

trend = np.polynomial.Polynomial.fit([0, 1], [0, 1], 1)  # not a sagestack fit(): allowed


class Mean(Model):
    def train(self, train, validation=None, **hyperparameters):
        self.mean = float(np.mean(train.labels))

    def predict(self, features):
        return np.full(len(features), self.mean)


model = Mean()
model.fit(TrainingInstance("local"), {"train": S3DataSource.local("data")})
"""


def test_fails_before_training_when_the_script_fits_its_own_class_without_a_main_guard(
    tmp_path: Path,
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("1,2\n0,3\n")
    (tmp_path / "mean_model.py").write_text(SCRIPT_WITHOUT_MAIN_GUARD)
    run = subprocess.run(
        [sys.executable, "mean_model.py"], cwd=tmp_path, capture_output=True, text=True
    )
    assert run.returncode == 1
    assert "mean_model.py defines Mean and calls fit() (line 17) at import time" in run.stderr, (
        run.stderr
    )
    assert 'under `if __name__ == "__main__":`' in run.stderr
    assert "image_uri" not in run.stderr
    assert not (tmp_path / ".sagestack").exists()

    guard = 'if __name__ == "__main__":\n    model = '
    guarded = SCRIPT_WITHOUT_MAIN_GUARD.replace("\nmodel = ", "\n" + guard)
    guarded = guarded.replace("\nmodel.fit", "\n    model.fit")
    (tmp_path / "mean_model.py").write_text(guarded)
    assert model_spec_of_file(tmp_path / "mean_model.py", "Mean").qualname == "Mean"


def model_spec_of_file(path: Path, name: str) -> ModelSpec:
    """model_spec() of a class defined in ``path``, imported without running its __main__."""
    module_name = f"user_{path.stem}"  # never shadow a real module (xgboost) in sys.modules
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    try:
        exec(path.read_text(), module.__dict__)
        return model_spec(getattr(module, name))
    finally:
        del sys.modules[module_name]


def test_fails_before_training_when_the_class_needs_arguments(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"NeedsArguments\(\) must work without arguments"):
        NeedsArguments(alpha=1.0).fit(TrainingInstance("local"), S3DataSource.local(tmp_path))
    assert not (tmp_path / ".sagestack").exists()
