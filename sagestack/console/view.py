"""Rendering the console's pages: the Jinja environment, its filters, and the error pages."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from sagestack.console import security

HERE = Path(__file__).parent
# A training job's or endpoint's name, as SageMaker allows it.
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def _stamp(value: datetime | None) -> str:
    """A boto3 datetime in local time (what _when does for the local store's epoch floats)."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["duration"] = _duration
    env.filters["stamp"] = _stamp
    return env


class View:
    """Renders templates with the CSRF token and the upload cap; one instance per app."""

    def __init__(self, max_upload_bytes: int, site: dict[str, Any] | None = None) -> None:
        self.env = _environment()
        self.max_upload_bytes = max_upload_bytes
        # What every page of this console shows whatever the page: the mode ("local", or
        # "aws" with the environment's name), so base.html picks the navigation.
        self.site: dict[str, Any] = site or {"mode": "local"}

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        token = security.csrf_token(request)
        context.setdefault("nav", "")
        html = self.env.get_template(template).render(
            request=request,
            csrf=token,
            max_upload_mib=self.max_upload_bytes >> 20,
            **{**self.site, **context},
        )
        response = HTMLResponse(html, status_code=status_code)
        security.set_csrf_cookie(request, response, token)
        return response

    def error(self, request: Request, status: int, title: str, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status, title=title, message=message)

    async def not_found(self, request: Request, exc: Exception) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) else "Not found."
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return self.error(request, status, "Not found" if status == 404 else "Error", str(detail))

    async def server_error(self, request: Request, exc: Exception) -> Response:
        # No traceback in the page: the console's own log has it.
        return self.error(
            request,
            500,
            "Something went wrong",
            f"The console could not do that ({type(exc).__name__}).",
        )
