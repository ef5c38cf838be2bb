"""moto's S3 as a server on loopback, and the environment a local job's boto3 reads for it.

boto3 finds the server through ``AWS_ENDPOINT_URL_S3`` alone (nothing in sagestack names it),
as it would an S3-compatible store; the credentials are dummy keys from the environment and no
shared config, profile or instance metadata is consulted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 (a free port) for the block; yields its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def point_s3_at(endpoint: str, monkeypatch: pytest.MonkeyPatch, scratch: Path) -> Any:
    """Set the environment for ``endpoint`` and return an S3 client made from it."""
    import boto3

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(scratch / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(scratch / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return boto3.session.Session().client("s3")
