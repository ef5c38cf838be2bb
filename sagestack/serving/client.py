"""Calling an endpoint: plain HTTP to /invocations, or boto3's sagemaker-runtime client."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class InvokeResult:
    status: int
    content_type: str | None
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def invocations_url(url: str) -> str:
    """``http://host:port`` means its ``/invocations``; a URL with a path is used as is."""
    parsed = urlparse(url)
    return url if parsed.path not in ("", "/") else url.rstrip("/") + "/invocations"


def invoke_http(
    url: str,
    body: bytes,
    *,
    content_type: str | None = "text/csv",
    accept: str | None = None,
    timeout_s: float = 60.0,
    session: requests.Session | None = None,
) -> InvokeResult:
    """POST ``body`` the way SageMaker's front end calls a container (60 s timeout)."""
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if accept:
        headers["Accept"] = accept
    response = (session or requests).post(
        invocations_url(url), data=body, headers=headers, timeout=timeout_s
    )
    ctype = response.headers.get("Content-Type")
    return InvokeResult(response.status_code, ctype, response.content)


def runtime_client(endpoint_url: str, region: str | None = None) -> Any:
    """A boto3 ``sagemaker-runtime`` client for ``endpoint_url``.

    A loopback URL gets placeholder credentials (the local server does not check
    signatures), so no AWS account or profile is needed.
    """
    import boto3

    kwargs: dict[str, Any] = {
        "endpoint_url": endpoint_url,
        "region_name": region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1",
    }
    if urlparse(endpoint_url).hostname in _LOOPBACK:
        kwargs |= {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    return boto3.client("sagemaker-runtime", **kwargs)


def invoke_runtime(
    client: Any,
    endpoint_name: str,
    body: bytes,
    *,
    content_type: str | None = "text/csv",
    accept: str | None = None,
) -> InvokeResult:
    """``invoke_endpoint``; a ModelError becomes the container's original status and text."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {"EndpointName": endpoint_name, "Body": body}
    if content_type:
        kwargs["ContentType"] = content_type
    if accept:
        kwargs["Accept"] = accept
    try:
        response = client.invoke_endpoint(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(
            exc.response.get("OriginalStatusCode")
            or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 500)
        )
        message = exc.response.get("OriginalMessage") or error.get("Message") or str(exc)
        return InvokeResult(status, "text/plain", str(message).encode())
    return InvokeResult(200, response.get("ContentType"), response["Body"].read())
