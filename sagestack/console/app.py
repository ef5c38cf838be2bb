"""The console's Starlette app: the URL table, the page groups behind it, the Host check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from sagestack.console import data
from sagestack.console.routes.compare import ComparePages
from sagestack.console.routes.endpoints import EndpointPages
from sagestack.console.routes.models import ModelPages
from sagestack.console.routes.training_jobs import TrainingJobPages
from sagestack.console.security import HostCheck, allowed_hosts
from sagestack.console.view import HERE, View

if TYPE_CHECKING:
    from sagestack.deployed.connection import Connection

_ROUTES = """
GET  /                                           jobs.home
GET  /training-jobs                              jobs.jobs_list
GET  /training-jobs/rows                         jobs.jobs_rows
GET  /training-jobs/create                       jobs.create_job_form
GET  /training-jobs/hyperparameters              jobs.hyperparameter_table
POST /training-jobs/create                       jobs.create_job
POST /training-jobs/preview                      jobs.preview
GET  /training-jobs/{name}                       jobs.job_detail
GET  /training-jobs/{name}/status                jobs.job_status
GET  /training-jobs/{name}/log                   jobs.job_log
GET  /training-jobs/{name}/code                  compare.job_code
POST /training-jobs/{name}/stop                  jobs.job_stop
POST /training-jobs/{name}/deploy                endpoints.deploy
GET  /training-jobs/{name}/download/{file}       jobs.job_download
GET  /training-jobs/{name}/plots/{file}          jobs.job_plot
GET  /models/create                              models.create_model_form
POST /models/create                              models.create_model
GET  /compare                                    compare.compare
GET  /endpoints                                  endpoints.endpoints_list
GET  /endpoints/{name}                           endpoints.endpoint_detail
GET  /endpoints/{name}/status                    endpoints.endpoint_status
POST /endpoints/{name}/invoke                    endpoints.endpoint_invoke
POST /endpoints/{name}/delete                    endpoints.endpoint_delete
"""
"""Method, path and ``group.handler`` of every page and form."""


def create_app(
    host: str = "127.0.0.1",
    port: int = 8000,
    max_upload_bytes: int = data.MAX_UPLOAD_BYTES,
    connection: Connection | None = None,
) -> ASGIApp:
    """The console app, answering only to ``host:port`` (and ``localhost:port`` on loopback).

    The data source is chosen here, once: this machine's store, or with ``connection`` a
    deployed environment (sagestack.console.aws); pages, templates and guards are shared.
    """
    handlers: dict[Any, Any]
    if connection is None:
        view = View(max_upload_bytes)
        table = _ROUTES
        groups: dict[str, object] = {
            "jobs": TrainingJobPages(view),
            "models": ModelPages(view),
            "compare": ComparePages(view),
            "endpoints": EndpointPages(view),
        }
        handlers = {}
    else:
        from sagestack.console import aws

        site = {"mode": "aws", "environment": connection.environment, "profile": connection.profile}
        view = View(max_upload_bytes, site)
        table = aws.ROUTES
        groups = aws.page_groups(view, connection)
        handlers = aws.error_handlers(view)
    routes: list[Route | Mount] = []
    for method, path, target in (line.split() for line in table.strip().splitlines()):
        group, handler = target.split(".")
        routes.append(Route(path, getattr(groups[group], handler), methods=[method]))
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: view.not_found,
            **handlers,
            Exception: view.server_error,
        },
    )
    return HostCheck(app, allowed_hosts(host, port))


def serve(host: str = "127.0.0.1", port: int = 8000, connection: Connection | None = None) -> None:
    """Run the console with uvicorn until Ctrl-C."""
    import uvicorn

    app = create_app(host, port, connection=connection)
    where = f"environment {connection.environment!r} on AWS" if connection else "local runs"
    print(f"SageStack console ({where}) on http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
