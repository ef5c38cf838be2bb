"""Endpoint pages: deploy a job's model, list and delete endpoints, test inference."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagestack.console import codegen, data, endpoints, forms, jobs, store
from sagestack.console.routes.training_jobs import job_context, job_page, summary_or_404
from sagestack.console.security import posted
from sagestack.console.view import NAME, View


def endpoint_or_404(name: str) -> endpoints.EndpointRow:
    row = endpoints.get_endpoint(name) if NAME.match(name) else None
    if row is None:
        raise HTTPException(404, f"No endpoint named {name}.")
    return row


class EndpointPages:
    """/training-jobs/{name}/deploy and /endpoints: list, detail, status, invoke, delete."""

    def __init__(self, view: View) -> None:
        self.view = view

    @posted
    async def deploy(self, request: Request, form: FormData) -> Response:
        name = request.path_params["name"]
        summary = summary_or_404(name)
        model = store.job_files(name).get("model.tar.gz")
        endpoint_name = str(form.get("endpoint_name", "")).strip()
        errors: dict[str, str] = {}
        if summary.status != store.COMPLETED or model is None:
            errors["deploy"] = "Only a Completed job with a model.tar.gz can be deployed."
        if not NAME.match(endpoint_name):
            errors["endpoint_name"] = (
                "1-63 letters, digits or hyphens, starting and ending with a letter or digit."
            )
        elif endpoints.get_endpoint(endpoint_name) is not None:
            errors["endpoint_name"] = f"An endpoint named {endpoint_name} already exists."
        workers = forms.int_field(
            {"workers": str(form.get("workers", "1"))}, "workers", 1, 1, 8, errors
        )
        if errors:
            return job_page(
                self.view,
                request,
                job_context(name),
                400,
                default_endpoint=endpoint_name,
                deploy_errors=errors,
            )
        assert model is not None and workers is not None
        endpoints.deploy(endpoint_name, name, model, workers)
        return RedirectResponse(f"/endpoints/{endpoint_name}", status_code=303)

    async def endpoints_list(self, request: Request) -> Response:
        return self.view.render(
            request, "endpoints.html", nav="endpoints", endpoints=endpoints.list_endpoints()
        )

    async def endpoint_detail(self, request: Request) -> Response:
        row = endpoint_or_404(request.path_params["name"])
        return self.view.render(
            request, "endpoint.html", nav="endpoints", endpoint=row, sample=_sample(row)
        )

    async def endpoint_status(self, request: Request) -> Response:
        row = endpoint_or_404(request.path_params["name"])
        return self.view.render(request, "_endpoint_status.html", endpoint=row)

    @posted
    async def endpoint_delete(self, request: Request, form: FormData) -> Response:
        row = endpoint_or_404(request.path_params["name"])
        endpoints.delete(row.name)
        return RedirectResponse("/endpoints", status_code=303)

    @posted
    async def endpoint_invoke(self, request: Request, form: FormData) -> Response:
        row = endpoint_or_404(request.path_params["name"])
        body = str(form.get("body", ""))
        content_type = str(form.get("content_type", "text/csv"))
        accept = str(form.get("accept", ""))
        if content_type not in ("text/csv", "application/json", "text/libsvm"):
            content_type = "text/csv"
        if accept not in ("", "application/json", "text/csv", "application/jsonlines"):
            accept = "application/json"
        error = None
        result = None
        url = str(row.record.get("url", ""))
        if row.status != endpoints.IN_SERVICE:
            error = f"The endpoint is {row.status}; only an InService endpoint answers."
        elif not body.strip():
            error = "Paste one or more rows to send."
        else:
            result = endpoints.invoke(url, body.encode(), content_type, accept)
        return self.view.render(
            request,
            "_invoke_result.html",
            error=error,
            result=result,
            curl=codegen.curl_command(url, body, content_type, accept),
            boto3=codegen.boto3_code(url, row.name, body, content_type, accept),
        )


def _sample(row: endpoints.EndpointRow) -> str:
    """The first validation rows of the endpoint's job, label removed, to try the form with."""
    request = jobs.job_request(str(row.record.get("job", ""))) if row.record.get("job") else {}
    channel = request.get("channels", {}).get("validation") or request.get("channels", {}).get(
        "train"
    )
    if not channel:
        return ""
    path = data.first_data_file(Path(channel["path"])) if Path(channel["path"]).exists() else None
    if path is None or path.suffix not in (".csv", ".txt"):
        return ""
    with path.open(encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for _, line in zip(range(3), handle, strict=False)]
    return "\n".join(line.split(",", 1)[1] for line in lines if "," in line)
