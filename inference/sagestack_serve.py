"""Script-mode serving handlers for any sagestack ``Model`` subclass (sagestack_serve.py).

training/sagestack_train.py copies this file, the model's module, the ``sagestack`` base modules
and a manifest into ``code/`` of the model directory, so the archive serves itself with
SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code (no network needed: a network-isolated endpoint cannot
reach S3). This file
imports only the standard library (and flask, which the serving images have).

``model_fn`` finds the class ($SAGESTACK_MODEL, else the manifest), builds it and calls its
``load``. ``transform_fn`` runs the model's ``decode_request``, ``predict`` and
``encode_response``; it is the one hook that can answer 4xx (415 for an unsupported
Content-Type, 406 for an unsupported Accept, 400 for rows that cannot be read), because the
container turns any exception raised by a hook into a 500 (sagemaker-containers
`_transformer.Transformer.transform`).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_ENV = "SAGESTACK_MODEL"
MANIFEST = "sagestack_manifest.json"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """The model class instance and what its load() returned."""

    model: Any
    fitted: Any


def _code_dirs(model_dir: str) -> list[str]:
    """Where the manifest and the model's module may be: next to this file (the toolkit may
    have installed it elsewhere), the archive's code/, or the submit directory."""
    candidates = [HERE, os.path.join(model_dir, "code"), "/opt/ml/model/code", "/opt/ml/code"]
    submit = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    if submit and os.path.isdir(submit):
        candidates.insert(1, submit)
    return [c for c in dict.fromkeys(candidates) if os.path.isdir(c)]


def model_class_spec(model_dir: str) -> tuple[str, str | None]:
    """(``module:Class``, the directory holding the module) from $SAGESTACK_MODEL or the
    manifest the training entry point wrote."""
    spec = os.environ.get(MODEL_ENV)
    for directory in _code_dirs(model_dir):
        manifest = os.path.join(directory, MANIFEST)
        if os.path.isfile(manifest):
            if not spec:
                with open(manifest, encoding="utf-8") as handle:
                    spec = json.load(handle)["model"]
            return str(spec), directory
    if not spec:
        raise RuntimeError(
            f"no model class to serve: set ${MODEL_ENV}=module:Class or ship {MANIFEST} "
            f"in code/ of the model archive (looked in {_code_dirs(model_dir)})"
        )
    return spec, None


def load_class(spec: str, directory: str | None) -> type:
    module_name, sep, class_name = spec.partition(":")
    if not sep:
        raise RuntimeError(f"{MODEL_ENV}={spec!r} must look like module:Class")
    if directory and directory not in sys.path:
        sys.path.insert(0, directory)
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if not isinstance(cls, type):
        raise RuntimeError(f"module {module_name!r} has no class {class_name!r}")
    return cls


def model_fn(model_dir: str) -> LoadedModel:
    spec, directory = model_class_spec(model_dir)
    model = load_class(spec, directory)()
    logger.info("Serving %s from %s", spec, model_dir)
    return LoadedModel(model, model.load(model_dir))


def _error(status: int, message: str) -> Any:
    """A plain-text error response: a flask.Response where flask exists (the containers)."""
    try:
        from flask import Response
    except ImportError:  # the local runtime accepts any object shaped like a Response
        return _PlainResponse(status, message)
    return Response(message, status=status, mimetype="text/plain")


class _PlainResponse:
    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        self.headers = {"Content-Type": "text/plain; charset=utf-8"}
        self._body = message.encode("utf-8")

    def get_data(self) -> bytes:
        return self._body


def transform_fn(loaded: LoadedModel, body: Any, content_type: str, accept: str) -> Any:
    model = loaded.model
    try:
        features = model.decode_request(body, content_type)
    except ValueError as exc:  # MediaTypeError is a ValueError that carries 415
        return _error(getattr(exc, "status", 400), str(exc))
    predictions = model.predict(loaded.fitted, features)
    try:
        return model.encode_response(predictions, accept)
    except ValueError as exc:
        if not hasattr(exc, "status"):  # not about the Accept type: a server-side error
            raise
        return _error(exc.status, str(exc))
