"""A minimal ASGI app with the container's routes and the runtime API's invoke route.

Raw ASGI rather than a framework: at a few thousand single-row requests per second per
worker, routing and request objects would cost more than the prediction itself.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from sagestack.serving.handlers import Reply

MAX_PAYLOAD_BYTES = 6_291_456  # InvokeEndpoint BodyBlob max (6 MiB)
VARIANT = "AllTraffic"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Invoke = Callable[[bytes, "str | None", "str | None"], Reply]

_JSON = b"application/json"
_TEXT = b"text/plain; charset=utf-8"


def _start(
    status: int, ctype: bytes | None, length: int, extra: list[tuple[bytes, bytes]]
) -> Message:
    headers = [(b"content-length", str(length).encode())]
    if ctype is not None:
        headers.append((b"content-type", ctype))
    headers.extend(extra)
    return {"type": "http.response.start", "status": status, "headers": headers}


async def _send(
    send: Send,
    status: int,
    body: bytes,
    ctype: bytes | None = _TEXT,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(_start(status, ctype, len(body), extra or []))
    await send({"type": "http.response.body", "body": body})


def _runtime_error(
    status: int, code: str, message: str, **members: Any
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """A sagemaker-runtime error as botocore's rest-json parser reads it."""
    body = json.dumps({"Message": message, **members}).encode()
    return status, body, [(b"x-amzn-errortype", code.encode())]


def _model_error(reply: Reply) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """The runtime wraps a container's non-2xx answer in ModelError (HTTP 424)."""
    original = reply.body.decode("utf-8", "replace")
    kind = "client" if reply.status < 500 else "server"
    return _runtime_error(
        424,
        "ModelError",
        f'Received {kind} error ({reply.status}) from primary with message "{original}". '
        "See the local server's log for more information.",
        OriginalStatusCode=reply.status,
        OriginalMessage=original,
        LogStreamArn="",
    )


def create_app(
    invoke: Invoke,
    *,
    execution_parameters: dict[str, Any] | None,
    max_payload_bytes: int = MAX_PAYLOAD_BYTES,
) -> ASGIApp:
    """The app one worker serves.

    Routes: ``GET /ping``, ``POST /invocations``, ``GET /execution-parameters`` (404 when
    ``execution_parameters`` is None, as in the script-mode container), and
    ``POST /endpoints/<name>/invocations`` answering like the sagemaker-runtime service, so
    boto3's ``invoke_endpoint`` works against it with ``endpoint_url``.
    """
    exec_params = json.dumps(execution_parameters).encode() if execution_parameters else None
    too_large = f"Request body exceeds the maximum of {max_payload_bytes} bytes".encode()

    async def read_body(receive: Receive, limit: int) -> bytes | None:
        """The whole body, or None once it passes ``limit`` (the rest is not read)."""
        message = await receive()
        body = message.get("body", b"")
        if not message.get("more_body", False):
            return body if len(body) <= limit else None
        chunks = [body]
        size = len(body)
        while message.get("more_body", False):
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        if path == "/invocations":
            runtime = False
        elif path == "/ping":
            if method in ("GET", "HEAD"):
                await _send(send, 200, b"", _JSON)
            else:
                await _send(send, 405, b"Method Not Allowed", extra=[(b"allow", b"GET, HEAD")])
            return
        elif path.startswith("/endpoints/") and path.endswith("/invocations"):
            runtime = path.count("/") == 3
            if not runtime:
                await _send(send, 404, b"{}", _JSON)
                return
        elif path == "/execution-parameters" and exec_params is not None:
            if method == "GET":
                await _send(send, 200, exec_params, _JSON)
            else:
                await _send(send, 405, b"Method Not Allowed", extra=[(b"allow", b"GET")])
            return
        else:
            await _send(send, 404, b"{}", _JSON)
            return
        if method != "POST":
            await _send(send, 405, b"Method Not Allowed", extra=[(b"allow", b"POST")])
            return

        content_type = accept = None
        declared = 0
        for name, value in scope["headers"]:
            if name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"contenttype":  # some AWS services send "ContentType"; it wins
                content_type = value.decode("latin-1")
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == b"content-length":
                declared = int(value) if value.isdigit() else 0

        body = None if declared > max_payload_bytes else await read_body(receive, max_payload_bytes)
        if body is None:
            if runtime:
                status, payload, extra = _runtime_error(400, "ValidationError", too_large.decode())
                await _send(send, status, payload, _JSON, extra)
            else:
                await _send(send, 413, too_large)
            return

        reply = invoke(body, content_type, accept)
        if not runtime:
            headers = [(b"content-length", str(len(reply.body)).encode())]
            headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers]
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": reply.body})
            return

        request_id = str(uuid.uuid4()).encode()
        if reply.status >= 300:
            status, payload, extra = _model_error(reply)
            await _send(send, status, payload, _JSON, extra + [(b"x-amzn-requestid", request_id)])
            return
        extra = [
            (b"x-amzn-invoked-production-variant", VARIANT.encode()),
            (b"x-amzn-requestid", request_id),
        ]
        for name_, value_ in reply.headers:
            if name_.lower() == "x-amzn-sagemaker-custom-attributes":
                extra.append((b"x-amzn-sagemaker-custom-attributes", value_.encode("latin-1")))
        ctype = reply.content_type
        await _send(send, 200, reply.body, ctype.encode("latin-1") if ctype else None, extra)

    return app
