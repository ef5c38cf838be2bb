"""The script-mode Transformer: imports the user's module and turns a request into a reply.

It reproduces what sagemaker-containers' Transformer and Worker do inside the XGBoost image
(sagemaker-containers `_transformer.py` and `_worker.py`), without Flask on the request path.
"""

from __future__ import annotations

import importlib
import logging
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from sagestack.serving import defaults

log = logging.getLogger("sagestack.serving")

JSON = "application/json"
# Only these two content types reach the hooks as str (sagemaker-containers UTF8_TYPES); any
# other, including "text/csv; charset=utf-8", arrives as bytes.
_TEXT_TYPES = frozenset({"text/csv", JSON})
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


class HandlerError(RuntimeError):
    """The inference module cannot be used: missing, not importable, or inconsistent hooks."""


@dataclass(frozen=True, slots=True)
class Reply:
    """An HTTP response: status, headers (Content-Type included) and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def content_type(self) -> str | None:
        for name, value in self.headers:
            if name.lower() == "content-type":
                return value
        return None


def module_name(program: str) -> str:
    """SAGEMAKER_PROGRAM names a file or a module; the module name drops ``.py``."""
    return program[:-3] if program.endswith(".py") else program


def import_user_module(code_dir: Path, program: str) -> ModuleType:
    """Import the module from ``code_dir`` as the container does after installing the dir."""
    name = module_name(program)
    if not (code_dir / f"{name}.py").is_file() and not (code_dir / name).is_dir():
        raise HandlerError(f"inference module {name!r} not found in {code_dir}")
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    try:
        return importlib.import_module(name)
    except Exception as exc:
        raise HandlerError(
            f"cannot import inference module {name!r} from {code_dir}: {type(exc).__name__}: {exc}"
        ) from exc


@lru_cache(maxsize=64)
def response_content_type(mimetype: str) -> str:
    """Flask/werkzeug's rule: text/* (and a few others) get ``; charset=utf-8`` appended."""
    from werkzeug.utils import get_content_type

    return get_content_type(mimetype, "utf-8")


def _encode_body(body: Any) -> bytes:
    """What a werkzeug Response makes of its ``response`` argument."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, bytearray | memoryview):
        return bytes(body)
    if body is None:
        return b""
    if isinstance(body, Iterable):
        return b"".join(item.encode() if isinstance(item, str) else bytes(item) for item in body)
    raise TypeError(f"cannot send a response body of type {type(body).__name__}")


def _from_response_object(result: Any) -> Reply:
    headers = tuple(
        (str(k), str(v)) for k, v in result.headers.items() if k.lower() not in _HOP_HEADERS
    )
    return Reply(int(result.status_code), headers, result.get_data())


def to_reply(result: Any) -> Reply:
    """Turn a hook's return value into a response, as Transformer.transform plus Flask would.

    A ``(body, content_type)`` tuple becomes a 200 of that type; a Flask/werkzeug Response
    keeps its status, body and headers; a plain str or bytes is ``text/html``; a dict or list
    is JSON (Flask >= 2.2). Anything else is a server error.
    """
    if isinstance(result, tuple):
        if len(result) != 2:
            raise TypeError(
                f"a tuple returned by transform_fn/output_fn must be (body, content_type), "
                f"got {len(result)} items"
            )
        body, mimetype = result
        ctype = response_content_type(str(mimetype)) if mimetype else JSON
        return Reply(200, (("Content-Type", ctype),), _encode_body(body))
    if hasattr(result, "status_code") and hasattr(result, "get_data"):
        return _from_response_object(result)
    if isinstance(result, str | bytes):
        return Reply(200, (("Content-Type", "text/html; charset=utf-8"),), _encode_body(result))
    if isinstance(result, dict | list):
        return Reply(200, (("Content-Type", JSON),), defaults._to_json(result).encode() + b"\n")
    raise TypeError(
        f"the handler returned {type(result).__name__}; return (body, content_type), a str, "
        "or a flask.Response"
    )


# XGBoost prefixes its messages with "[hh:mm:ss] /source/file.cc:123: " and appends a native
# stack trace ("Stack trace:" then "[bt] (0) /path/libxgboost.so(+0x...)" lines).
_NATIVE_PREFIX = re.compile(r"^\[[0-9:]+\] \S+:\d+: ")


def readable_reason(exc: BaseException) -> str:
    """An exception's message on one line, without a native library's stack trace, so a
    start-up error reads as a sentence rather than a page of addresses."""
    lines = []
    for line in str(exc).splitlines():
        line = line.strip()
        if line.startswith("[bt]") or line == "Stack trace:":
            continue
        if line:
            lines.append(_NATIVE_PREFIX.sub("", line))
    return " ".join(lines)


def error_reply(status: int, message: str) -> Reply:
    return Reply(status, (("Content-Type", "text/plain; charset=utf-8"),), message.encode("utf-8"))


class Transformer:
    """Holds the loaded model and the resolved hooks of one inference module."""

    def __init__(self, module: ModuleType, default_accept: str = JSON) -> None:
        self.module_name = module.__name__
        self.default_accept = default_accept
        self._model_fn: Callable[[str], Any] = getattr(
            module, "model_fn", defaults.default_model_fn
        )
        transform_fn = getattr(module, "transform_fn", None)
        input_fn = getattr(module, "input_fn", None)
        predict_fn = getattr(module, "predict_fn", None)
        output_fn = getattr(module, "output_fn", None)
        if transform_fn is not None and (input_fn or predict_fn or output_fn):
            raise HandlerError(
                f"{self.module_name}: cannot use transform_fn together with input_fn, "
                "predict_fn and/or output_fn"
            )
        self._transform_fn: Callable[[Any, Any, str, str], Any] = (
            transform_fn if transform_fn is not None else self._default_transform
        )
        self._input_fn = input_fn or defaults.default_input_fn
        self._predict_fn = predict_fn or defaults.default_predict_fn
        self._output_fn = output_fn or defaults.default_output_fn
        self.model: Any = None

    def load(self, model_dir: Path) -> None:
        """Call model_fn once, at worker start-up, so a bad model fails before serving."""
        try:
            self.model = self._model_fn(str(model_dir))
        except Exception as exc:
            raise HandlerError(
                f"{self.module_name}.model_fn({str(model_dir)!r}) failed: "
                f"{type(exc).__name__}: {readable_reason(exc)}"
            ) from exc

    def _default_transform(self, model: Any, body: Any, content_type: str, accept: str) -> Any:
        data = self._input_fn(body, content_type)
        prediction = self._predict_fn(data, model)
        return self._output_fn(prediction, accept)

    def __call__(self, body: bytes, content_type: str | None, accept: str | None) -> Reply:
        """One invocation. Any exception in a hook is a 500 carrying its message; the
        worker logs the traceback and keeps serving."""
        # What sagemaker-containers' _worker.Request.content_type falls back to
        # (sagemaker_containers/_worker.py): script mode in the XGBoost image reads a request
        # without Content-Type as JSON; text/csv is the default of its algorithm mode only.
        ctype = content_type or JSON
        if not accept or accept == "*/*":
            accept = self.default_accept
        content: Any = body.decode("utf-8", "replace") if ctype in _TEXT_TYPES else body
        try:
            return to_reply(self._transform_fn(self.model, content, ctype, accept))
        except Exception as exc:
            log.exception("inference hook failed")
            return error_reply(500, f"{type(exc).__name__}: {exc}")
