"""Where the bundled training and serving code lives: package data, or the checkout."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

BUNDLE_DIR = "_bundled"
"""The wheel maps the checkout's training/ and inference/ to ``sagestack/_bundled/<name>``
(pyproject.toml, ``[tool.hatch.build.targets.wheel.force-include]``)."""

# Run from source (the editable install), the scripts sit beside the package instead: they stay
# out of sagestack/ because SageMaker receives each directory as its own archive, without the SDK.
_CHECKOUT = Path(__file__).resolve().parents[1]


def _code_dir(name: str) -> Path:
    """The wheel's package data if it is there, else the checkout's directory."""
    packaged = Path(str(resources.files(__package__ or "sagestack").joinpath(BUNDLE_DIR, name)))
    if packaged.is_dir():
        return packaged
    checkout = _CHECKOUT / name
    # Neither exists only in a broken install; callers name the missing file under the wheel's path.
    return checkout if checkout.is_dir() else packaged


def training_dir() -> Path:
    """The bundled training source dir (entry points ``train.py`` and ``sagestack_train.py``)."""
    return _code_dir("training")


def inference_dir() -> Path:
    """The bundled inference source dir (handlers ``inference.py`` and ``sagestack_serve.py``)."""
    return _code_dir("inference")


def contract_files() -> dict[str, Path]:
    """What a code archive adds so its scripts can import ``sagestack.contract``: archive path
    (``sagestack/__init__.py``, ``sagestack/contract/<module>.py``) -> the installed file.

    The package itself, not a copy: in the wheel and in the checkout alike it sits beside this
    module. ``sagestack/__init__.py`` comes too (it imports nothing eagerly), so the name
    resolves as a regular package ahead of any namespace package.
    """
    package = Path(__file__).resolve().parent
    files = {"sagestack/__init__.py": package / "__init__.py"}
    for module in sorted((package / "contract").glob("*.py")):
        files[f"sagestack/contract/{module.name}"] = module
    return files


def default_state_dir() -> Path:
    """Root for local jobs, artifacts and endpoints: ``.sagestack/`` under the working dir.

    Relative to the working directory, like ``cdk.out``, so two checkouts never share state.
    """
    return Path.cwd() / ".sagestack"
