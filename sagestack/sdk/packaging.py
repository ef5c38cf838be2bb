"""What a training or serving container gets for a Model subclass, so nothing is installed there.

The source directory holds the generic entry point (training/sagestack_train.py), the serving
handlers (inference/sagestack_serve.py), the user's module file under its own name, the files
it lists in ``dependencies``, the ``sagestack`` modules of the public API and the
standard-library ``sagestack.contract`` package they and the training scripts import. A
manifest names the class and the files the serving container needs; the entry point copies
those into ``code/`` of the model directory, so model.tar.gz serves itself.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagestack import paths
from sagestack.sdk.errors import ConfigurationError

TRAIN_ENTRY_POINT = "sagestack_train.py"
SERVE_PROGRAM = "sagestack_serve.py"
MANIFEST = "sagestack_manifest.json"
MODEL_HYPERPARAMETER = "sagestack_model"
"""Names the class to train as ``module:Class``; not a ``sagemaker_*`` key, so the legacy
toolkit passes it through to the script (it strips only ``sagemaker_*``)."""
MODEL_ENV = "SAGESTACK_MODEL"
"""The same ``module:Class``, for the serving container (and a fallback in training)."""
BASE_MODULES = (
    "sagestack/__init__.py",
    "sagestack/paths.py",
    "sagestack/sdk/__init__.py",
    "sagestack/sdk/dataset.py",
    "sagestack/sdk/errors.py",
    "sagestack/sdk/instances.py",
    "sagestack/sdk/model.py",
    "sagestack/sdk/packaging.py",
    "sagestack/sdk/predictor.py",
    "sagestack/sdk/runs.py",
    "sagestack/sdk/serving_config.py",
    "sagestack/sdk/sources.py",
    "sagestack/sdk/xgboost_model.py",
)
"""The modules behind ``from sagestack import <any public name>``: ``Model`` needs only
dataset.py, but a model file that also imports TrainingInstance or S3DataSource at the top (to
fit itself under ``if __name__ == "__main__":``) must import in the container too. None of them
imports more than numpy and the standard library at module level; the machinery fit() and
deploy() use (backends, the local runtime, boto3, rich) is left out."""
# Module names the user's file must not take: ours, the bundled scripts', and packages the
# containers import by these names.
_RESERVED = frozenset(
    {
        "sagestack",
        "sagestack_train",
        "sagestack_serve",
        "train",
        "inference",
        "xgboost",
        "numpy",
        "pandas",
        "scipy",
        "sklearn",
        "flask",
        "serving",
        "sagemaker_containers",
        "sagemaker_training",
    }
)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_SKIP_DIRS = frozenset({"__pycache__", ".ipynb_checkpoints"})


@dataclass(frozen=True)
class TrainingCode:
    """A source directory, its entry point, and hyperparameters the entry point relies on."""

    source_dir: Path
    entry_point: str
    hyperparameters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServingCode:
    """SAGEMAKER_PROGRAM and where it lives: ``code_dir``, or None for ``code/`` inside the
    model archive (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)."""

    program: str
    code_dir: Path | None = None
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelSpec:
    """How the container finds the class: ``module:Class`` and the file shipped as ``module``."""

    module: str
    qualname: str
    file: Path

    @property
    def spec(self) -> str:
        return f"{self.module}:{self.qualname}"


def model_spec(cls: type) -> ModelSpec:
    """Where ``cls`` is defined, checked for what a container can import."""
    name = cls.__qualname__
    if "." in name:
        raise ConfigurationError(
            f"{name} is defined inside a function or class; define it at the top level of a "
            ".py file so the container can import it"
        )
    module = sys.modules.get(cls.__module__)
    file = getattr(module, "__file__", None)
    if not file or not str(file).endswith(".py"):
        raise ConfigurationError(
            f"{name} is defined in {cls.__module__!r}, which has no .py file (a notebook cell "
            "or the REPL). The container imports your model from a file: write the class to "
            "one (in Jupyter: %%writefile my_model.py) and import it from there"
        )
    path = Path(file).resolve()
    stem = path.stem
    if not stem.isidentifier() or stem in _RESERVED:
        raise ConfigurationError(
            f"{path.name} cannot be shipped as module {stem!r}: rename the file (it must be a "
            f"valid module name other than {', '.join(sorted(_RESERVED))})"
        )
    unguarded = _unguarded_launches(path)
    if unguarded:
        raise ConfigurationError(
            f"{path.name} defines {name} and calls {unguarded} at import time. The container "
            f"imports {path.name} to find {name}, and that call cannot run there. Put the "
            'fit()/deploy() calls under `if __name__ == "__main__":`, or move the class to '
            "a module of its own and import it"
        )
    return ModelSpec(stem, name, path)


def _is_main_guard(node: ast.stmt) -> bool:
    """``if __name__ == "__main__":`` (either operand order)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names)


def _unguarded_launches(path: Path) -> str | None:
    """``.fit()``/``.deploy()`` on a class the file defines (``Cls().fit(...)``, or ``m.fit``
    after ``m = Cls()``) in its top-level code, outside functions, classes and a __main__
    guard, as ``"fit() (line 12)"``; None when there is none. Other ``.fit()`` calls (a
    scaler fitted at import) are left alone."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    classes = {n.name for n in tree.body if isinstance(n, ast.ClassDef)}
    instances: set[str] = set()

    def ours(node: ast.expr) -> bool:
        if isinstance(node, ast.Call):
            return isinstance(node.func, ast.Name) and node.func.id in classes
        return isinstance(node, ast.Name) and node.id in instances

    for statement in tree.body:
        if isinstance(statement, _DEFINITIONS) or _is_main_guard(statement):
            continue
        if isinstance(statement, ast.Assign) and ours(statement.value):
            instances.update(t.id for t in statement.targets if isinstance(t, ast.Name))
        for node in ast.walk(statement):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("fit", "deploy")
                and ours(node.func.value)
            ):
                return f"{node.func.attr}() (line {node.lineno})"
    return None


def _bundled_file(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise ConfigurationError(
            f"{path} is missing: the generic entry points ship inside the sagestack package "
            f"(sagestack/{paths.BUNDLE_DIR}/ in the wheel, training/ and inference/ in a "
            "checkout); reinstall SageStack"
        )
    return path


def _tree(source: Path, target: str) -> dict[str, Path]:
    if source.is_file():
        return {target: source}
    found: dict[str, Path] = {}
    for directory, dirs, names in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in names:
            if name.startswith(".") or name.endswith((".pyc", ".pyo")):
                continue
            path = Path(directory, name)
            found[f"{target}/{path.relative_to(source).as_posix()}"] = path
    return found


def _dependencies(cls: type, spec: ModelSpec) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for entry in getattr(cls, "dependencies", ()):
        relative = Path(entry)
        source = (spec.file.parent / relative).resolve()
        if relative.is_absolute() or ".." in relative.parts or not source.exists():
            raise ConfigurationError(
                f"{cls.__qualname__}.dependencies: {entry!r} must be an existing file or "
                f"directory inside {spec.file.parent}"
            )
        files.update(_tree(source, relative.as_posix()))
    return files


def source_files(cls: type) -> tuple[ModelSpec, dict[str, Path], list[str]]:
    """(spec, archive path -> source file, the archive paths serving needs)."""
    spec = model_spec(cls)
    package_root = Path(__file__).resolve().parents[2]
    serving: dict[str, Path] = {
        SERVE_PROGRAM: _bundled_file(paths.inference_dir(), SERVE_PROGRAM),
        f"{spec.module}.py": spec.file,
        **_dependencies(cls, spec),
        **{name: package_root / name for name in BASE_MODULES},
        **paths.contract_files(),
    }
    files = {TRAIN_ENTRY_POINT: _bundled_file(paths.training_dir(), TRAIN_ENTRY_POINT), **serving}
    return spec, files, sorted(serving)


def _digest(files: dict[str, bytes]) -> str:
    sha = hashlib.sha256()
    for name in sorted(files):
        sha.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    return sha.hexdigest()


def build_source_dir(cls: type, root: Path | None = None) -> tuple[ModelSpec, Path]:
    """Write the source directory for ``cls`` under ``root`` (default .sagestack/code).

    The directory is named by a hash of its content, so an unchanged model reuses it and a
    changed file gets a new one (never overwritten while a job may be reading it).
    """
    spec, sources, serving = source_files(cls)
    contents = {name: path.read_bytes() for name, path in sources.items()}
    manifest: dict[str, Any] = {"model": spec.spec, "serve": [*serving, MANIFEST]}
    contents[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    base = (root or paths.default_state_dir() / "code").resolve()
    target = base / f"{spec.module}-{_digest(contents)[:16]}"
    if target.is_dir():
        return spec, target
    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
    try:
        for name, data in contents.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        try:
            staging.rename(target)
        except OSError:
            if not target.is_dir():  # a concurrent build of the same content won the rename
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return spec, target


def generic_training_code(cls: type) -> TrainingCode:
    spec, source_dir = build_source_dir(cls)
    return TrainingCode(source_dir, TRAIN_ENTRY_POINT, {MODEL_HYPERPARAMETER: spec.spec})


def embedded_serving_code(cls: type) -> ServingCode:
    return ServingCode(SERVE_PROGRAM, None, {MODEL_ENV: model_spec(cls).spec})
