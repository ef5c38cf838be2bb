"""AWS-mode endpoint pages: the environment's endpoints with their variants, Test inference."""

from __future__ import annotations

import time

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sagestack.console import codegen
from sagestack.console.aws.pages import AwsPages, checked_name
from sagestack.console.endpoints import TestResult
from sagestack.console.security import posted
from sagestack.deployed import endpoints

CONTENT_TYPES = ("text/csv", "application/json", "text/libsvm")
ACCEPTS = ("", "application/json", "text/csv", "application/jsonlines")


class AwsEndpointPages(AwsPages):
    """/endpoints in AWS mode: list, detail, invoke."""

    def endpoints_list(self, request: Request) -> Response:
        rows = endpoints.list_endpoints(self.connection)
        return self.render(request, "aws_endpoints.html", nav="endpoints", endpoints=rows)

    def _endpoint(self, request: Request) -> endpoints.EndpointRow:
        name = checked_name(request, "endpoint")
        if not endpoints.is_environment_endpoint(self.connection, name):
            raise HTTPException(404, f"No endpoint named {name} in this environment.")
        return endpoints.describe_endpoint(self.connection, name)

    def endpoint_detail(self, request: Request) -> Response:
        row = self._endpoint(request)
        return self.render(request, "aws_endpoint.html", nav="endpoints", endpoint=row)

    @posted
    async def endpoint_invoke(self, request: Request, form: FormData) -> Response:
        body = str(form.get("body", ""))
        content_type = str(form.get("content_type", "text/csv"))
        accept = str(form.get("accept", ""))
        return await run_in_threadpool(self._invoke, request, body, content_type, accept)

    def _invoke(self, request: Request, body: str, content_type: str, accept: str) -> Response:
        row = self._endpoint(request)
        content_type = content_type if content_type in CONTENT_TYPES else "text/csv"
        accept = accept if accept in ACCEPTS else "application/json"
        error = None
        result = None
        if row.status != "InService":
            error = f"The endpoint is {row.status}; only an InService endpoint answers."
        elif not body.strip():
            error = "Paste one or more rows to send."
        else:
            started = time.perf_counter()
            answer = endpoints.invoke(
                self.connection, row.name, body.encode(), content_type, accept or None
            )
            result = TestResult(
                answer.status,
                answer.content_type,
                answer.body.decode("utf-8", "replace"),
                (time.perf_counter() - started) * 1000,
            )
        return self.view.render(
            request,
            "_invoke_result.html",
            error=error,
            result=result,
            cli_label="AWS CLI",
            curl=codegen.aws_cli_invoke(row.name, body, content_type, accept),
            boto3=codegen.boto3_runtime_code(row.name, body, content_type, accept),
        )
