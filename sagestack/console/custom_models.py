"""A user's ``Model`` subclass as a console algorithm: ``module:Class`` from a ``.py`` file.

The console checks the form without running the user's code (the file is parsed, not
imported); the job's runner process imports it and asks the class for its training code,
exactly as the SDK's ``fit()`` does (:meth:`sagestack.Model.training_code`), so the job
runs the SDK's generic entry point on the user's module and the model archive serves itself.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any

CUSTOM = "custom"
_SPEC = re.compile(r"^([A-Za-z_]\w*):([A-Za-z_]\w*)$")


def check(model_class: str, model_file: str, errors: dict[str, str]) -> dict[str, str] | None:
    """``{"class": "module:Class", "file": "/abs/module.py"}``, or None with the errors set
    beside ``model_class`` / ``model_file``."""
    match = _SPEC.match(model_class.strip())
    if not match:
        errors["model_class"] = "Give the class as module:Class, e.g. my_model:MyModel."
    text = model_file.strip().removeprefix("file://")
    path = Path(text).expanduser() if text else None
    if path is None:
        errors["model_file"] = "Give the path of the .py file that defines the class."
    elif path.suffix != ".py" or not path.is_file():
        errors["model_file"] = f"{path} is not a .py file on this machine."
    if errors.keys() & {"model_class", "model_file"} or match is None or path is None:
        return None
    module, name = match.groups()
    if path.stem != module:
        errors["model_class"] = f"The module of {path.name} is {path.stem!r}, not {module!r}."
        return None
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError) as exc:
        errors["model_file"] = f"{path.name} does not parse: {exc}"
        return None
    if not any(isinstance(node, ast.ClassDef) and node.name == name for node in tree.body):
        errors["model_class"] = f"{path.name} defines no top-level class {name}."
        return None
    return {"class": f"{module}:{name}", "file": str(path.resolve())}


def training_code(model: dict[str, str]) -> dict[str, Any]:
    """TrainingJobSpec fields for the model (source_dir, entry_point and the hyperparameters
    the entry point needs); imports the user's module, so only the job's runner calls it."""
    from sagestack.sdk.model import Model

    module, name = model["class"].split(":")
    spec = importlib.util.spec_from_file_location(module, model["file"])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {model['file']}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[module] = loaded  # packaging finds the class's file through sys.modules
    spec.loader.exec_module(loaded)
    cls = getattr(loaded, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Model)):
        raise TypeError(f"{model['class']} is not a subclass of sagestack.Model")
    code = cls().training_code()
    return {
        "source_dir": code.source_dir,
        "entry_point": code.entry_point,
        "launch": "v3",
        "extra_hyperparameters": code.hyperparameters,
    }
