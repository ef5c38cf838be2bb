"""SageMaker script-mode entry point for any sagestack ``Model`` subclass (``sagestack_model``).

sagestack.sdk.packaging puts this file in a source directory next to the user's module and the
few ``sagestack`` modules ``Model`` needs, so it runs in any image with Python and numpy, under
either launch path (``python -m sagestack_train`` under the legacy toolkit, or
``python3 sagestack_train.py`` as SDK v3's driver and our ContainerEntrypoint run it). This file
imports only the standard library and ``sagestack.contract`` (shipped beside it): everything
about data formats belongs to the model class (``read_channel``), everything about how
SageMaker hands a job its inputs lives here or in the contract.

A run: find the class from the ``sagestack_model`` hyperparameter (or $SAGESTACK_MODEL), read
every data channel with the model's ``read_channel``, call ``train``, print ``evaluate`` metrics
as ``[0]\\ttrain-<m>:<v>\\tvalidation-<m>:<v>``, ``save`` into the model directory, copy the
serving code into ``<model dir>/code/`` (so model.tar.gz serves itself with
SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code) and write ``evaluation.json`` to the output data
directory. Any error ends as one line in the failure file and a non-zero exit.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

from sagestack.contract import paths
from sagestack.contract.hyperparameters import decode_value

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_HYPERPARAMETER = "sagestack_model"
MODEL_ENV = "SAGESTACK_MODEL"
MANIFEST = "sagestack_manifest.json"
EVALUATION_FILE = "evaluation.json"
# SageMaker's toolkits consume sagemaker_*; sagestack_* configure this script. Neither reaches
# the model's train().
RESERVED_PREFIXES = ("sagemaker_", "sagestack_")
NON_DATA_CHANNELS = frozenset({"code", "sm_drivers"})
TRAIN_CHANNEL = "train"
VALIDATION_CHANNEL = "validation"
FAILURE_MAX_CHARS = 1024
EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2


class JobError(Exception):
    """The job cannot run as configured (class, channel, data); the message says what to fix."""


def log(message: str) -> None:
    print(message, flush=True)


def failure_path(environ: Mapping[str, str]) -> str:
    if environ.get("SM_OUTPUT_FAILURE"):
        return environ["SM_OUTPUT_FAILURE"]
    return os.path.join(environ.get("SM_OUTPUT_DIR", paths.OUTPUT_DIR), paths.FAILURE_FILE)


def write_failure(path: str, message: str) -> None:
    """One line, at most 1024 characters (what FailureReason keeps), also on stderr because
    the legacy toolkit replaces the file's text with its own."""
    text = " ".join(message.split())
    if len(text) > FAILURE_MAX_CHARS:
        text = text[: FAILURE_MAX_CHARS - 3] + "..."
    print(f"ERROR: {text}", file=sys.stderr, flush=True)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError:
        pass


def _config_dir(environ: Mapping[str, str]) -> str:
    if environ.get("SM_INPUT_CONFIG_DIR"):
        return environ["SM_INPUT_CONFIG_DIR"]
    return os.path.join(environ.get("SM_INPUT_DIR", paths.INPUT_DIR), "config")


def _json(environ: Mapping[str, str], variable: str, path: str) -> Any:
    """A JSON document from an SM_* variable, else from its file in the config directory."""
    text = environ.get(variable)
    if not text and os.path.isfile(path):
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise JobError(f"{variable} / {path} is not valid JSON: {exc}") from exc


def all_hyperparameters(environ: Mapping[str, str]) -> dict[str, Any]:
    """hyperparameters.json (every launch path writes it), else SM_HPS (already decoded)."""
    path = os.path.join(_config_dir(environ), paths.HYPERPARAMETERS_FILE)
    raw = _json({}, paths.HYPERPARAMETERS_FILE, path) if os.path.isfile(path) else None
    if raw is None:
        raw = _json(environ, "SM_HPS", "")
    if raw is not None and not isinstance(raw, dict):
        raise JobError("the hyperparameters must be a JSON object")
    # Values arrive as strings (JSON-encoded by the v2 SDK, raw by v3).
    return {str(key): decode_value(value) for key, value in (raw or {}).items()}


def user_hyperparameters(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not k.startswith(RESERVED_PREFIXES)}


def load_class(spec: str) -> type:
    """``module:Class`` -> the class, imported from this directory (where packaging put it)."""
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name:
        raise JobError(f"{MODEL_HYPERPARAMETER}={spec!r} must look like module:Class")
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if "relative import" in str(exc):
            hint = (
                "it is shipped as a top-level module, so use absolute imports (and list local "
                "files it imports in the class's dependencies)"
            )
        elif (getattr(exc, "name", None) or "").startswith("sagestack."):
            # Only the modules a model class needs are shipped (packaging.BASE_MODULES), so
            # this is the machinery of fit()/deploy(), run by the module when imported.
            hint = (
                f"if {module_name}.py calls fit() or deploy() when imported, put those calls "
                'under `if __name__ == "__main__":` (the container imports it to find the class)'
            )
        else:
            hint = "if a library is missing, give the model an image_uri with it installed"
        raise JobError(
            f"cannot import {module_name!r}: {type(exc).__name__}: {exc}; {hint}"
        ) from exc
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise JobError(f"module {module_name!r} has no class {class_name!r}")
    missing = [m for m in ("train", "predict", "save", "read_channel") if not hasattr(cls, m)]
    if missing:
        raise JobError(f"{spec} is not a sagestack Model (no {', '.join(missing)})")
    return cls


def model_class_spec(values: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    spec = values.get(MODEL_HYPERPARAMETER) or environ.get(MODEL_ENV)
    if not spec:
        raise JobError(
            f"no model class: set the {MODEL_HYPERPARAMETER} hyperparameter (or ${MODEL_ENV}) "
            "to module:Class"
        )
    return str(spec)


def data_channels(environ: Mapping[str, str], input_data_config: Mapping[str, Any]) -> dict:
    """Channel name -> directory: SM_CHANNEL_<NAME>, else <input>/data/<name> per the config."""
    channels: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("SM_CHANNEL_") and value:
            channels[key[len("SM_CHANNEL_") :].lower()] = value
    data_dir = os.path.join(environ.get("SM_INPUT_DIR", paths.INPUT_DIR), "data")
    for name in input_data_config:
        path = os.path.join(data_dir, name)
        if name not in channels and os.path.isdir(path):
            channels[name] = path
    return {k: v for k, v in channels.items() if k not in NON_DATA_CHANNELS}


def hosts(environ: Mapping[str, str], resource_config: Mapping[str, Any]) -> tuple[list, str]:
    try:
        listed = json.loads(environ["SM_HOSTS"]) if environ.get("SM_HOSTS") else None
    except ValueError as exc:
        raise JobError(f"SM_HOSTS={environ['SM_HOSTS']!r} is not a JSON list") from exc
    listed = listed or resource_config.get("hosts") or ["algo-1"]
    current = environ.get("SM_CURRENT_HOST") or resource_config.get("current_host") or listed[0]
    return sorted(listed), current


def _call(model: Any, hook: str, *args: Any) -> Any:
    """Run one of the model's hooks; its exceptions are the user's, and say which hook."""
    try:
        return getattr(model, hook)(*args)
    except Exception as exc:
        traceback.print_exc()
        raise JobError(f"{type(model).__name__}.{hook} raised {type(exc).__name__}: {exc}") from exc


def metrics_line(metrics: Mapping[str, Mapping[str, float]]) -> str | None:
    """XGBoost's evaluation line format, validation last (SageMaker metric regexes read it)."""
    parts = [
        f"{channel}-{name}:{float(value):.6g}"
        for channel in sorted(metrics, key=lambda c: (c == VALIDATION_CHANNEL, c))
        for name, value in sorted(metrics[channel].items())
    ]
    return "[0]\t" + "\t".join(parts) if parts else None


def embed_serving_code(model_dir: str) -> list[str]:
    """Copy what the manifest lists into <model dir>/code/ (empty when there is no manifest)."""
    manifest_path = os.path.join(HERE, MANIFEST)
    if not os.path.isfile(manifest_path):
        return []
    with open(manifest_path, encoding="utf-8") as handle:
        names = json.load(handle).get("serve", [])
    for name in names:
        target = os.path.join(model_dir, paths.MODEL_CODE_SUBDIR, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(os.path.join(HERE, name), target)
    return names


def train_model(environ: Mapping[str, str]) -> dict[str, Any]:
    """The whole job; returns the evaluation report it wrote."""
    values = all_hyperparameters(environ)
    spec = model_class_spec(values, environ)
    config_dir = _config_dir(environ)
    data_config_file = os.path.join(config_dir, paths.INPUT_DATA_CONFIG_FILE)
    input_data_config = _json(environ, "SM_INPUT_DATA_CONFIG", data_config_file) or {}
    resource_config_file = os.path.join(config_dir, paths.RESOURCE_CONFIG_FILE)
    resource_config = _json(environ, "SM_RESOURCE_CONFIG", resource_config_file) or {}
    all_hosts, current = hosts(environ, resource_config)
    if current != all_hosts[0]:
        log(f"{current}: a sagestack Model trains on the first host ({all_hosts[0]}) only")
        return {}
    cls = load_class(spec)
    try:
        model = cls()
    except Exception as exc:
        raise JobError(
            f"{spec}() failed ({type(exc).__name__}: {exc}); the container builds the model "
            "without arguments, so settings belong in hyperparameters"
        ) from exc

    channels = data_channels(environ, input_data_config)
    if TRAIN_CHANNEL not in channels:
        raise JobError(
            f"missing required channel 'train' (channels given: {sorted(channels) or 'none'})"
        )
    datasets = {}
    for name in sorted(channels):
        content_type = (input_data_config.get(name) or {}).get("ContentType")
        try:
            datasets[name] = model.read_channel(channels[name], content_type)
        except (ValueError, OSError) as exc:
            raise JobError(f"channel {name!r}: {exc}") from exc
        log(f"Loaded {name}: {len(datasets[name])} rows from {channels[name]}")

    hyperparameters = user_hyperparameters(values)
    log(f"Training {spec} with hyperparameters {json.dumps(hyperparameters, sort_keys=True)}")
    started = time.perf_counter()
    fitted = _call(
        model, "train", datasets[TRAIN_CHANNEL], datasets.get(VALIDATION_CHANNEL), hyperparameters
    )
    log(f"Trained in {time.perf_counter() - started:.2f} s")

    metrics = {
        name: {str(k): float(v) for k, v in (_call(model, "evaluate", fitted, data) or {}).items()}
        for name, data in datasets.items()
    }
    metrics = {name: values for name, values in metrics.items() if values}
    line = metrics_line(metrics)
    if line:
        log(line)

    model_dir = environ.get("SM_MODEL_DIR", paths.MODEL_DIR)
    os.makedirs(model_dir, exist_ok=True)
    _call(model, "save", fitted, model_dir)
    embedded = embed_serving_code(model_dir)
    log(f"Saved the model to {model_dir} (serving code in code/: {len(embedded)} files)")

    report = {
        "model": spec,
        "rows": {name: len(data) for name, data in datasets.items()},
        "metrics": metrics,
        "hyperparameters": hyperparameters,
    }
    output_dir = environ.get("SM_OUTPUT_DATA_DIR", paths.OUTPUT_DATA_DIR)
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, EVALUATION_FILE), "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    return report


def run(environ: Mapping[str, str]) -> int:
    """The job as a function: the exit code, with the failure file written on error."""
    failure = failure_path(environ)
    try:
        train_model(environ)
    except JobError as exc:
        write_failure(failure, str(exc))
        return EXIT_USER_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug here, not in the model: keep the trace
        traceback.print_exc()
        write_failure(failure, f"Internal error in sagestack_train.py: {type(exc).__name__}: {exc}")
        return EXIT_INTERNAL_ERROR
    return 0


def main() -> None:
    sys.exit(run(os.environ))


if __name__ == "__main__":
    main()
