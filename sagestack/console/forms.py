"""Checks the Create forms' fields the way CreateTrainingJob and the algorithm would, per field."""

from __future__ import annotations

import importlib
import re
import sys
from types import ModuleType
from typing import Any

from starlette.datastructures import FormData, UploadFile

from sagestack import paths
from sagestack.console import store
from sagestack.local.job_spec import validate_job_name

DEFAULT_NUM_ROUND = 100
DEFAULT_EARLY_STOPPING = 10
# Names the built-in XGBoost algorithm documents (plus the script's own keys); anything else
# is most likely a typo, so it is refused with the nearest name.
_EVAL_METRIC = {"binary": "logloss", "multi": "mlogloss"}
# The objectives the Create form offers defaults for: the three Create model infers.
OBJECTIVES = ("binary:logistic", "multi:softprob", "reg:squarederror")


def default_hyperparameters(objective: str, num_class: int | None = None) -> dict[str, str]:
    """What the Create forms pre-fill: XGBoost's defaults plus rounds and early stopping."""
    values = {
        "objective": objective,
        "num_round": str(DEFAULT_NUM_ROUND),
        "early_stopping_rounds": str(DEFAULT_EARLY_STOPPING),
        "eval_metric": _EVAL_METRIC.get(objective.split(":")[0], "rmse"),
        "eta": "0.3",
        "max_depth": "6",
        "min_child_weight": "1",
        "subsample": "1",
    }
    if objective.startswith("multi:"):
        values["num_class"] = str(num_class or "")
    return values


def check_job_name(name: str) -> str | None:
    """The error to show beside the job name, or None."""
    if not name:
        return "A job name is required."
    try:
        validate_job_name(name)
    except ValueError:
        return (
            "1-63 letters, digits or hyphens, starting and ending with a letter or digit "
            "(pattern [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62})."
        )
    if store.job_exists(name):
        return f"A training job named {name} already exists; names must be unique."
    return None


def text_fields(form: FormData) -> dict[str, str]:
    """The form's fields as strings, uploads left out."""
    return {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}


def check_name_and_algorithm(
    values: dict[str, str],
    name_field: str,
    errors: dict[str, str],
    algorithms: tuple[str, ...] = ("xgboost",),
) -> str:
    """The Create forms' job name, stripped; its and the algorithm's problems go in ``errors``."""
    name = values.get(name_field, "").strip()
    if problem := check_job_name(name):
        errors[name_field] = problem
    if values.get("algorithm", "xgboost") not in algorithms:
        errors["algorithm"] = (
            "Only the built-in XGBoost algorithm is available."
            if algorithms == ("xgboost",)
            else "Choose the built-in XGBoost algorithm or your own Model class."
        )
    return name


def int_field(
    values: dict[str, str],
    key: str,
    default: int | None,
    low: int,
    high: int,
    errors: dict[str, str],
) -> int | None:
    """A whole number from ``low`` to ``high``; ``default`` when blank or (with an error) bad."""
    raw = values.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[key] = f"A whole number from {low} to {high}."
        return default
    return int(raw)


def _training_module(name: str) -> ModuleType:
    """A module of training/ (hyperparams, param_names), the checks the job itself runs; they
    import their siblings as top-level modules (as the container runs them), so the directory
    goes on sys.path while they load."""
    if name in sys.modules:
        return sys.modules[name]
    directory = str(paths.training_dir())
    sys.path.insert(0, directory)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(directory)


def check_hyperparameters(values: dict[str, str]) -> dict[str, str]:
    """Errors by hyperparameter name (``""`` for the table as a whole); empty when fine."""
    names = _training_module("param_names")
    errors: dict[str, str] = {}
    for name in values:
        message = names.unknown_names_message([name])
        if message:
            errors[name] = message
    if errors:
        return errors
    module = _training_module("hyperparams")
    try:
        module.resolve(values)
    except module.UserError as exc:
        message = str(exc)
        named = re.search(r"[Hh]yperparameter (\w+)", message)
        errors[named.group(1) if named else ""] = message
    return errors


def parse_table(form: Any) -> dict[str, str]:
    """The hyperparameter table's ``hp_name_N`` / ``hp_value_N`` rows; blank names ignored."""
    values: dict[str, str] = {}
    for key in form:
        if not key.startswith("hp_name_"):
            continue
        name = str(form.get(key, "")).strip()
        value = str(form.get("hp_value_" + key[len("hp_name_") :], "")).strip()
        if name and value:
            values[name] = value
    return values
