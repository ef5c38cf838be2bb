"""The console's Starlette app: pages, forms, the Host check and CSRF."""

from __future__ import annotations

import functools
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from sagestack.console import charts, codegen, data, endpoints, forms, jobs, store

HERE = Path(__file__).parent
CSRF_COOKIE = "sagestack_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
MAX_FORM_FIELDS = 200
JOBS_PAGE = 100
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

Handler = Callable[[Request], Awaitable[Response]]


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


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
    return env


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


PostHandler = Callable[[Any, Request, FormData], Awaitable[Response]]


def _posted(handler: PostHandler) -> Callable[[Any, Request], Awaitable[Response]]:
    """A state-changing handler: it runs only after the size cap and the CSRF check pass."""

    @functools.wraps(handler)
    async def checked(self: Console, request: Request) -> Response:
        form = await self.form(request)
        if isinstance(form, Response):
            return form
        return await handler(self, request, form)

    return checked


class Console:
    """Routes and rendering; one instance per app."""

    def __init__(self, max_upload_bytes: int) -> None:
        self.env = _environment()
        self.max_upload_bytes = max_upload_bytes

    # ------------------------------------------------------------------ plumbing

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        token = request.cookies.get(CSRF_COOKIE) or ""
        if not re.fullmatch(r"[0-9a-f]{64}", token):
            token = secrets.token_hex(32)
        context.setdefault("nav", "")
        html = self.env.get_template(template).render(
            request=request, csrf=token, max_upload_mib=self.max_upload_bytes >> 20, **context
        )
        response = HTMLResponse(html, status_code=status_code)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict")
        return response

    def error(self, request: Request, status: int, title: str, message: str) -> HTMLResponse:
        return self.render(request, "error.html", status, title=title, message=message)

    async def form(self, request: Request) -> FormData | Response:
        """The posted form after the size cap and the CSRF check, or the response refusing it."""
        length = request.headers.get("content-length")
        limit = self.max_upload_bytes + (1 << 20)
        if length is not None and (not length.isdigit() or int(length) > limit):
            return self.error(
                request,
                413,
                "Upload too large",
                f"Files up to {self.max_upload_bytes >> 20} MiB can be uploaded.",
            )
        try:
            form = await request.form(max_files=4, max_fields=MAX_FORM_FIELDS)
        except HTTPException as exc:  # malformed multipart, too many fields
            return self.error(request, 400, "Bad form", str(exc.detail))
        cookie = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER) or str(form.get(CSRF_FIELD, ""))
        if not cookie or not hmac.compare_digest(cookie, sent):
            return self.error(
                request,
                403,
                "Form expired",
                "The form's security token did not match (CSRF check). Reload the page and "
                "submit again.",
            )
        return form

    # ------------------------------------------------------------------ training jobs

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/training-jobs", status_code=303)

    def _jobs_context(self) -> dict[str, Any]:
        rows, total = store.list_jobs(JOBS_PAGE)
        running = any(r.status == store.IN_PROGRESS for r in rows)
        return {"jobs": rows, "total": total, "running": running}

    async def jobs_list(self, request: Request) -> Response:
        return self.render(request, "jobs.html", nav="jobs", **self._jobs_context())

    async def jobs_rows(self, request: Request) -> Response:
        return self.render(request, "_jobs_table.html", **self._jobs_context())

    def _summary_or_404(self, name: str) -> store.JobSummary:
        summary = store.summarize(name) if _NAME.match(name) else None
        if summary is None:
            raise HTTPException(404, f"No training job named {name}.")
        return summary

    def _job_context(self, name: str) -> dict[str, Any]:
        summary = self._summary_or_404(name)
        curves = store.metric_curves(name)
        return {
            "job": summary,
            "timeline": store.timeline(summary),
            "charts": charts.charts_by_metric(curves),
            "final_metrics": _final_metrics(summary, curves),
            "files": store.job_files(name),
        }

    async def job_detail(self, request: Request) -> Response:
        name = request.path_params["name"]
        context = self._job_context(name)
        text, offset = store.read_log_chunk(name, 0, 1 << 20)
        return self.render(
            request,
            "job.html",
            nav="jobs",
            log_text=text,
            log_offset=offset,
            config=job_request(name),
            evaluation=store.evaluation(name),
            default_endpoint=_endpoint_name_for(name),
            **context,
        )

    async def job_status(self, request: Request) -> Response:
        context = self._job_context(request.path_params["name"])
        response = self.render(request, "_job_status.html", **context)
        if context["job"].status != store.IN_PROGRESS:
            # The job ended while the page polled: reload it whole (Deploy, Stop, log end).
            response.headers["HX-Refresh"] = "true"
        return response

    async def job_log(self, request: Request) -> Response:
        name = request.path_params["name"]
        summary = self._summary_or_404(name)
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            offset = 0
        text, next_offset = store.read_log_chunk(name, offset)
        more = summary.status == store.IN_PROGRESS or next_offset > offset
        return self.render(
            request, "_log_chunk.html", name=name, text=text, offset=next_offset, more=more
        )

    @_posted
    async def job_stop(self, request: Request, form: FormData) -> Response:
        name = request.path_params["name"]
        self._summary_or_404(name)
        jobs.stop_job(name)
        return RedirectResponse(f"/training-jobs/{name}", status_code=303)

    async def job_download(self, request: Request) -> Response:
        name = request.path_params["name"]
        self._summary_or_404(name)
        path = store.job_files(name).get(request.path_params["file"])
        if path is None:
            raise HTTPException(404, "No such artifact.")
        return FileResponse(path, filename=f"{name}-{path.name}")

    async def job_code(self, request: Request) -> Response:
        name = request.path_params["name"]
        self._summary_or_404(name)
        config = job_request(name)
        return self.render(
            request,
            "code.html",
            nav="jobs",
            name=name,
            sdk=codegen.sdk_code(config),
            cli=codegen.cli_command(config),
            api=codegen.create_training_job_request(config),
        )

    # ------------------------------------------------------------------ create model (short path)

    async def create_model_form(self, request: Request) -> Response:
        return self.render(request, "create_model.html", nav="create-model", values={}, errors={})

    @_posted
    async def create_model(self, request: Request, form: FormData) -> Response:
        values = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
        errors: dict[str, str] = {}
        name = values.get("name", "").strip()
        if problem := forms.check_job_name(name):
            errors["name"] = problem
        if values.get("algorithm", "xgboost") != "xgboost":
            errors["algorithm"] = "Only the built-in XGBoost algorithm is available."
        source = self._data_source(form, "data", values.get("location", ""), errors, "data")
        if errors or source is None:
            return self._create_model_page(request, values, errors)
        try:
            prepared = data.prepare(source, name, values.get("label", "").strip())
        except data.DataError as exc:
            errors["data"] = str(exc)
            return self._create_model_page(request, values, errors)
        hyperparameters = forms.default_hyperparameters(prepared.objective, prepared.num_class)
        request_ = {
            "job_name": name,
            "source": "console: create model",
            "channels": {
                "train": {"path": str(prepared.train), "content_type": "text/csv"},
                "validation": {"path": str(prepared.validation), "content_type": "text/csv"},
            },
            "hyperparameters": hyperparameters,
            "instance_count": 1,
            "max_runtime_s": None,
            "notes": prepared.notes,
            "classes": prepared.classes,
        }
        jobs.start_job(request_)
        return RedirectResponse(f"/training-jobs/{name}", status_code=303)

    def _create_model_page(
        self, request: Request, values: dict[str, str], errors: dict[str, str]
    ) -> Response:
        return self.render(
            request, "create_model.html", 400, nav="create-model", values=values, errors=errors
        )

    def _data_source(
        self,
        form: FormData,
        upload_field: str,
        location: str,
        errors: dict[str, str],
        error_key: str,
        upload_id: str = "",
    ) -> Path | None:
        """An uploaded file (saved to the data store), a previous upload, or a location."""
        upload = form.get(upload_field)
        if isinstance(upload, UploadFile) and upload.filename:
            try:
                return data.save_upload(upload.file, upload.filename, self.max_upload_bytes)
            except data.DataError as exc:
                errors[error_key] = str(exc)
                return None
        if upload_id:
            path = data.upload_by_id(upload_id)
            if path is not None:
                return path
        if not location.strip():
            errors[error_key] = "Upload a file or give the data's location."
            return None
        try:
            return data.resolve_location(location)
        except data.DataError as exc:
            errors[error_key] = str(exc)
            return None

    def _channel_source(
        self, form: FormData, values: dict[str, str], channel: str, errors: dict[str, str]
    ) -> Path | None:
        """The full form's channel: its upload, its previewed upload, or its location."""
        return self._data_source(
            form,
            f"{channel}_file",
            values.get(f"{channel}_location", ""),
            errors,
            channel,
            values.get(f"{channel}_upload_id", ""),
        )

    # ------------------------------------------------------------------ create training job

    async def create_job_form(self, request: Request) -> Response:
        values: dict[str, Any] = {"content_type": "text/csv", "instance_count": "1"}
        hyperparameters = forms.default_hyperparameters("binary:logistic")
        clone = request.query_params.get("clone", "")
        if clone:
            self._summary_or_404(clone)
            config = job_request(clone)
            channels = config.get("channels", {})
            values = {
                "job_name": _next_name(clone),
                "train_location": channels.get("train", {}).get("path", ""),
                "validation_location": channels.get("validation", {}).get("path", ""),
                "content_type": channels.get("train", {}).get("content_type") or "text/csv",
                "instance_count": str(config.get("instance_count") or 1),
                "max_runtime_s": str(config.get("max_runtime_s") or ""),
            }
            hyperparameters = {k: str(v) for k, v in config.get("hyperparameters", {}).items()}
        return self.render(
            request,
            "create_job.html",
            nav="create-job",
            values=values,
            errors={},
            hyperparameters=hyperparameters,
            clone=clone,
        )

    @_posted
    async def preview(self, request: Request, form: FormData) -> Response:
        channel = str(form.get("channel", "train"))
        if channel not in ("train", "validation"):
            channel = "train"
        values = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
        errors: dict[str, str] = {}
        source = self._channel_source(form, values, channel, errors)
        hps = forms.parse_table(form)
        result = None
        if source is not None:
            try:
                result = data.preview(
                    source,
                    values.get("content_type", "text/csv"),
                    hps.get("objective", ""),
                    hps.get("num_class"),
                )
            except data.DataError as exc:
                errors[channel] = str(exc)
        upload = ""
        if source is not None and source.is_relative_to(store.data_dir() / "uploads"):
            upload = data.upload_id(source)
        return self.render(
            request,
            "_preview.html",
            channel=channel,
            preview=result,
            error=errors.get(channel),
            upload_id=upload,
        )

    @_posted
    async def create_job(self, request: Request, form: FormData) -> Response:
        values = {k: str(v) for k, v in form.items() if not isinstance(v, UploadFile)}
        hyperparameters = forms.parse_table(form)
        errors: dict[str, str] = {}
        name = values.get("job_name", "").strip()
        if problem := forms.check_job_name(name):
            errors["job_name"] = problem
        if values.get("algorithm", "xgboost") != "xgboost":
            errors["algorithm"] = "Only the built-in XGBoost algorithm is available."
        content_type = values.get("content_type", "text/csv")
        if content_type not in data.CONTENT_TYPES:
            errors["content_type"] = f"Choose one of {', '.join(data.CONTENT_TYPES)}."
        instance_count = _int_field(values, "instance_count", 1, 1, 8, errors)
        max_runtime = _int_field(values, "max_runtime_s", None, 1, 5 * 86400, errors)
        hp_errors = forms.check_hyperparameters(hyperparameters)
        if hp_errors:
            errors["hyperparameters"] = " ".join(hp_errors.values())
        channels: dict[str, dict[str, str]] = {}
        for channel in ("train", "validation"):
            has_input = (
                values.get(f"{channel}_location", "").strip()
                or values.get(f"{channel}_upload_id")
                or _has_file(form, f"{channel}_file")
            )
            if channel == "validation" and not has_input:
                continue
            source = self._channel_source(form, values, channel, errors)
            if source is not None:
                channels[channel] = {"path": str(source), "content_type": content_type}
        if (
            "validation" not in channels
            and hyperparameters.get("early_stopping_rounds")
            and "validation" not in errors
        ):
            errors["validation"] = (
                "early_stopping_rounds needs a validation channel; add one or clear it."
            )
        if errors:
            return self.render(
                request,
                "create_job.html",
                400,
                nav="create-job",
                values=values,
                errors=errors,
                hp_errors=hp_errors,
                hyperparameters=hyperparameters or forms.default_hyperparameters("binary:logistic"),
                clone="",
            )
        jobs.start_job(
            {
                "job_name": name,
                "source": "console: create training job",
                "channels": channels,
                "hyperparameters": hyperparameters,
                "instance_count": instance_count,
                "max_runtime_s": max_runtime,
            }
        )
        return RedirectResponse(f"/training-jobs/{name}", status_code=303)

    # ------------------------------------------------------------------ compare

    async def compare(self, request: Request) -> Response:
        names = [n for n in request.query_params.getlist("jobs") if _NAME.match(n)]
        summaries = [s for n in dict.fromkeys(names) if (s := store.summarize(n)) is not None]
        if len(summaries) < 2:
            return self.render(
                request,
                "compare.html",
                400,
                nav="compare",
                error="Pick two or more training jobs to compare (tick them in the list).",
                jobs=summaries,
                rows=[],
                charts=[],
            )
        configs = {s.name: job_request(s.name) for s in summaries}
        curves = {s.name: store.metric_curves(s.name) for s in summaries}
        keys = sorted({k for c in configs.values() for k in c.get("hyperparameters", {})})
        rows = []
        for key in keys:
            cells = [
                str(configs[s.name].get("hyperparameters", {}).get(key, "")) for s in summaries
            ]
            rows.append(("hyperparameter", key, cells, len(set(cells)) > 1))
        metric_names = sorted({m for c in curves.values() for m in c})
        for metric in metric_names:
            cells = [
                f"{curves[s.name][metric][-1][1]:.6g}" if curves[s.name].get(metric) else ""
                for s in summaries
            ]
            rows.append(("final metric", metric, cells, len(set(cells)) > 1))
        overlaid = []
        for metric in metric_names:
            if not metric.startswith("validation:"):
                continue
            series = {
                s.name: curves[s.name][metric] for s in summaries if curves[s.name].get(metric)
            }
            overlaid.append((metric, charts.line_chart(metric, series)))
        return self.render(
            request,
            "compare.html",
            nav="compare",
            error=None,
            jobs=summaries,
            rows=rows,
            charts=overlaid,
        )

    # ------------------------------------------------------------------ deploy and endpoints

    @_posted
    async def deploy(self, request: Request, form: FormData) -> Response:
        name = request.path_params["name"]
        summary = self._summary_or_404(name)
        model = store.job_files(name).get("model.tar.gz")
        endpoint_name = str(form.get("endpoint_name", "")).strip()
        errors: dict[str, str] = {}
        if summary.status != store.COMPLETED or model is None:
            errors["deploy"] = "Only a Completed job with a model.tar.gz can be deployed."
        if not _NAME.match(endpoint_name):
            errors["endpoint_name"] = (
                "1-63 letters, digits or hyphens, starting and ending with a letter or digit."
            )
        elif endpoints.get_endpoint(endpoint_name) is not None:
            errors["endpoint_name"] = f"An endpoint named {endpoint_name} already exists."
        workers = _int_field({"workers": str(form.get("workers", "1"))}, "workers", 1, 1, 8, errors)
        if errors:
            context = self._job_context(name)
            text, offset = store.read_log_chunk(name, 0, 1 << 20)
            return self.render(
                request,
                "job.html",
                400,
                nav="jobs",
                log_text=text,
                log_offset=offset,
                config=job_request(name),
                evaluation=store.evaluation(name),
                default_endpoint=endpoint_name,
                deploy_errors=errors,
                **context,
            )
        assert model is not None and workers is not None
        endpoints.deploy(endpoint_name, name, model, workers)
        return RedirectResponse(f"/endpoints/{endpoint_name}", status_code=303)

    async def endpoints_list(self, request: Request) -> Response:
        return self.render(
            request, "endpoints.html", nav="endpoints", endpoints=endpoints.list_endpoints()
        )

    def _endpoint_or_404(self, name: str) -> endpoints.EndpointRow:
        row = endpoints.get_endpoint(name) if _NAME.match(name) else None
        if row is None:
            raise HTTPException(404, f"No endpoint named {name}.")
        return row

    async def endpoint_detail(self, request: Request) -> Response:
        row = self._endpoint_or_404(request.path_params["name"])
        return self.render(
            request, "endpoint.html", nav="endpoints", endpoint=row, sample=_sample(row)
        )

    async def endpoint_status(self, request: Request) -> Response:
        row = self._endpoint_or_404(request.path_params["name"])
        return self.render(request, "_endpoint_status.html", endpoint=row)

    @_posted
    async def endpoint_delete(self, request: Request, form: FormData) -> Response:
        row = self._endpoint_or_404(request.path_params["name"])
        endpoints.delete(row.name)
        return RedirectResponse("/endpoints", status_code=303)

    @_posted
    async def endpoint_invoke(self, request: Request, form: FormData) -> Response:
        row = self._endpoint_or_404(request.path_params["name"])
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
        return self.render(
            request,
            "_invoke_result.html",
            error=error,
            result=result,
            curl=codegen.curl_command(url, body, content_type, accept),
            boto3=codegen.boto3_code(url, row.name, body, content_type, accept),
        )

    # ------------------------------------------------------------------ errors

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


def _has_file(form: FormData, key: str) -> bool:
    upload = form.get(key)
    return isinstance(upload, UploadFile) and bool(upload.filename)


def _int_field(
    values: dict[str, str],
    key: str,
    default: int | None,
    low: int,
    high: int,
    errors: dict[str, str],
) -> int | None:
    raw = values.get(key, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[key] = f"A whole number from {low} to {high}."
        return default
    return int(raw)


def _final_metrics(
    summary: store.JobSummary, curves: dict[str, list[tuple[int, float]]]
) -> dict[str, float]:
    if summary.record and summary.record.get("metrics"):
        return dict(summary.record["metrics"])
    return {k: v[-1][1] for k, v in curves.items() if v}


def _next_name(name: str) -> str:
    base = name[:56]
    for index in range(2, 1000):
        candidate = f"{base}-{index}"
        if not store.job_exists(candidate):
            return candidate
    return f"{base}-{secrets.token_hex(2)}"


def _endpoint_name_for(job: str) -> str:
    base = f"{job[:58]}-ep"
    return base if endpoints.get_endpoint(base) is None else f"{job[:52]}-ep-{secrets.token_hex(2)}"


def _sample(row: endpoints.EndpointRow) -> str:
    """The first validation rows of the endpoint's job, label removed, to try the form with."""
    request = job_request(str(row.record.get("job", ""))) if row.record.get("job") else {}
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


def job_request(name: str) -> dict[str, Any]:
    """What a job was created with: the console's record, else rebuilt from its job dir."""
    record = store.read_json(store.record_path(name))
    if record is not None:
        return record
    config = store.job_config(name)
    job_dir = store.jobs_dir() / name
    data_root = job_dir / "input" / "data"
    if not data_root.is_dir():
        data_root = job_dir / "algo-1" / "input" / "data"
    channels = {
        channel: {"path": str(data_root / channel), "content_type": cfg.get("ContentType")}
        for channel, cfg in config["input_data_config"].items()
        if channel not in ("code", "sm_drivers")
    }
    hps = {
        k: v for k, v in config["hyperparameters"].items() if not k.startswith(("sagemaker_", "_"))
    }
    hosts = config["resource_config"].get("hosts") or ["algo-1"]
    return {
        "job_name": name,
        "channels": channels,
        "hyperparameters": hps,
        "instance_count": len(hosts),
        "max_runtime_s": None,
    }


_ROUTES = """
GET  /                                           home
GET  /training-jobs                              jobs_list
GET  /training-jobs/rows                         jobs_rows
GET  /training-jobs/create                       create_job_form
POST /training-jobs/create                       create_job
POST /training-jobs/preview                      preview
GET  /training-jobs/{name}                       job_detail
GET  /training-jobs/{name}/status                job_status
GET  /training-jobs/{name}/log                   job_log
GET  /training-jobs/{name}/code                  job_code
POST /training-jobs/{name}/stop                  job_stop
POST /training-jobs/{name}/deploy                deploy
GET  /training-jobs/{name}/download/{file}       job_download
GET  /models/create                              create_model_form
POST /models/create                              create_model
GET  /compare                                    compare
GET  /endpoints                                  endpoints_list
GET  /endpoints/{name}                           endpoint_detail
GET  /endpoints/{name}/status                    endpoint_status
POST /endpoints/{name}/invoke                    endpoint_invoke
POST /endpoints/{name}/delete                    endpoint_delete
"""
"""Method, path and Console handler of every page and form."""


def create_app(
    host: str = "127.0.0.1", port: int = 8000, max_upload_bytes: int = data.MAX_UPLOAD_BYTES
) -> ASGIApp:
    """The console app, answering only to ``host:port`` (and ``localhost:port`` on loopback)."""
    console = Console(max_upload_bytes)
    routes: list[Route | Mount] = [
        Route(path, getattr(console, handler), methods=[method])
        for method, path, handler in (line.split() for line in _ROUTES.strip().splitlines())
    ]
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    app = Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: console.not_found,
            Exception: console.server_error,
        },
    )
    allowed = {f"{host}:{port}".lower()}
    if host in ("127.0.0.1", "::1", "localhost"):
        allowed.add(f"localhost:{port}")
        allowed.add(f"127.0.0.1:{port}")
    return HostCheck(app, allowed)


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the console with uvicorn until Ctrl-C."""
    import uvicorn

    app = create_app(host, port)
    print(f"SageStack console on http://{host}:{port}  (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
