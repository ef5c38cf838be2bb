"""The local SageMaker serving runtime: script-mode handlers behind a multi-worker server.

Exports resolve lazily so a worker process imports only the server side, not the client
libraries (requests, boto3) it never uses.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "InvokeResult": "sagestack.serving.client",
    "invoke_http": "sagestack.serving.client",
    "invoke_runtime": "sagestack.serving.client",
    "runtime_client": "sagestack.serving.client",
    "LocalEndpoint": "sagestack.serving.endpoint",
    "start_local_endpoint": "sagestack.serving.endpoint",
    "StartupError": "sagestack.serving.supervisor",
    "serve": "sagestack.serving.supervisor",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
