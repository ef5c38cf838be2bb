"""The web console: create, train, deploy and test models in the browser, on this machine.

A client of the same local runtime, job store and serving code as the CLI and the SDK:
``sagestack console`` serves it on 127.0.0.1 (see app.py).
"""

from sagestack.console.app import create_app, serve

__all__ = ["create_app", "serve"]
