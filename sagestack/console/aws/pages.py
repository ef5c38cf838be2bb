"""What every AWS-mode page shares: the banner (account, region, caller, stacks) and the pages
shown instead of a traceback when credentials or the environment are missing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sagestack.console.view import NAME, View
from sagestack.deployed.connection import Connection, CredentialsProblem
from sagestack.sdk.errors import (
    AccessDeniedError,
    PlatformNotDeployedError,
    RegionMismatchError,
    SageStackError,
)


class AwsPages:
    """A page group of the AWS mode: renders with the banner of its connection."""

    def __init__(self, view: View, connection: Connection) -> None:
        self.view = view
        self.connection = connection

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> Response:
        identity, stacks = self.connection.banner()
        return self.view.render(
            request,
            template,
            status_code,
            banner={"identity": identity, "stacks": stacks},
            **context,
        )


def checked_name(request: Request, what: str) -> str:
    name = str(request.path_params["name"])
    if not NAME.match(name):
        raise HTTPException(404, f"No {what} named {name}.")
    return name


def _handler(view: View) -> Callable[[Request, Exception], Any]:
    async def handle(request: Request, exc: Exception) -> Response:
        if isinstance(exc, CredentialsProblem):
            return view.render(request, "credentials.html", 401, problem=exc)
        statuses: dict[type[Exception], int] = {
            AccessDeniedError: 403,
            PlatformNotDeployedError: 503,
            RegionMismatchError: 503,
        }
        status = statuses.get(type(exc), 400)
        title = {403: "Access denied", 503: "Environment not found"}.get(status, "Cannot do that")
        return view.error(request, status, title, str(exc))

    return handle


def error_handlers(view: View) -> dict[Any, Callable[[Request, Exception], Any]]:
    """Exception handlers of the AWS mode: SDK errors as pages that say what to do."""
    return {SageStackError: _handler(view)}
