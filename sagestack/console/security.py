"""The console's guards: the Host check against DNS rebinding, and the CSRF check on every form."""

from __future__ import annotations

import functools
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from sagestack.console.view import View

CSRF_COOKIE = "sagestack_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_FIELDS = 200


class HostCheck:
    """Refuse requests whose Host header is not the address the console is bound to, so a
    DNS-rebinding page cannot reach it through a name that resolves to 127.0.0.1."""

    def __init__(self, app: ASGIApp, allowed: set[str]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            host = headers.get(b"host", b"").decode("latin-1").lower()
            if host not in self.allowed:
                response = HTMLResponse(
                    "<h1>Bad Host header</h1><p>This console answers only to "
                    f"{', '.join(sorted(self.allowed))}.</p>",
                    status_code=400,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def allowed_hosts(host: str, port: int) -> set[str]:
    """``host:port``, and on loopback also ``localhost:port`` and ``127.0.0.1:port``."""
    allowed = {f"{host}:{port}".lower()}
    if host in ("127.0.0.1", "::1", "localhost"):
        allowed.add(f"localhost:{port}")
        allowed.add(f"127.0.0.1:{port}")
    return allowed


def csrf_token(request: Request) -> str:
    """The request's CSRF cookie if well formed, else a new token for the page to set."""
    token = request.cookies.get(CSRF_COOKIE) or ""
    if not re.fullmatch(r"[0-9a-f]{64}", token):
        token = secrets.token_hex(32)
    return token


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    """Send the token as the cookie unless the browser already holds it."""
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")


class FormRefused(Exception):
    """A posted form that failed the size cap, the parser or the CSRF check."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message


async def read_form(request: Request, max_upload_bytes: int) -> FormData:
    """The posted form after the size cap and the CSRF check; raises FormRefused otherwise."""
    length = request.headers.get("content-length")
    limit = max_upload_bytes + (1 << 20)
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise FormRefused(
            413, "Upload too large", f"Files up to {max_upload_bytes >> 20} MiB can be uploaded."
        )
    try:
        form = await request.form(max_files=4, max_fields=MAX_FORM_FIELDS)
    except HTTPException as exc:  # malformed multipart, too many fields
        raise FormRefused(400, "Bad form", str(exc.detail)) from exc
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD, ""))
    if not cookie or not hmac.compare_digest(cookie, sent):
        raise FormRefused(
            403,
            "Form expired",
            "The form's security token did not match (CSRF check). Reload the page and "
            "submit again.",
        )
    return form


class _Pages(Protocol):
    view: View


PostHandler = Callable[[Any, Request, FormData], Awaitable[Response]]


def posted(handler: PostHandler) -> Callable[[Any, Request], Awaitable[Response]]:
    """A state-changing handler: it runs only after the size cap and the CSRF check pass."""

    @functools.wraps(handler)
    async def checked(self: _Pages, request: Request) -> Response:
        view = self.view
        try:
            form = await read_form(request, view.max_upload_bytes)
        except FormRefused as refused:
            return view.error(request, refused.status, refused.title, refused.message)
        return await handler(self, request, form)

    return checked
