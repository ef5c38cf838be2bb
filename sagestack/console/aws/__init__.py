"""The console's AWS mode: the same pages over a deployed environment (sagestack.deployed),
chosen at start by ``sagestack console --env``; app.py takes its URL table and page groups."""

from __future__ import annotations

from sagestack.console.aws.endpoints import AwsEndpointPages
from sagestack.console.aws.pages import error_handlers
from sagestack.console.aws.registry import RegistryPages
from sagestack.console.aws.training import RunPages
from sagestack.console.view import View
from sagestack.deployed.connection import Connection

ROUTES = """
GET  /                                           runs.home
GET  /training-jobs                              runs.runs_list
GET  /training-jobs/create                       runs.create_form
POST /training-jobs/create                       runs.create
GET  /training-jobs/{name}                       runs.run_detail
GET  /training-jobs/{name}/status                runs.run_status
GET  /training-jobs/{name}/log                   runs.run_log
POST /training-jobs/{name}/stop                  runs.run_stop
GET  /registry                                   registry.packages
POST /registry/approval                          registry.approval
GET  /endpoints                                  endpoints.endpoints_list
GET  /endpoints/{name}                           endpoints.endpoint_detail
POST /endpoints/{name}/invoke                    endpoints.endpoint_invoke
"""
"""Method, path and ``group.handler`` of every AWS-mode page and form."""


def page_groups(view: View, connection: Connection) -> dict[str, object]:
    return {
        "runs": RunPages(view, connection),
        "registry": RegistryPages(view, connection),
        "endpoints": AwsEndpointPages(view, connection),
    }


__all__ = ["error_handlers", "ROUTES", "page_groups"]
