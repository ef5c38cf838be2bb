"""Training job pages: the list, a job's page (status, log, stop, artifacts) and Create."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from sagestack.console import charts, custom_models, data, endpoints, forms, jobs, store, uploads
from sagestack.console.security import posted
from sagestack.console.view import NAME, View

JOBS_PAGE = 100


def summary_or_404(name: str) -> store.JobSummary:
    summary = store.summarize(name) if NAME.match(name) else None
    if summary is None:
        raise HTTPException(404, f"No training job named {name}.")
    return summary


def job_context(name: str) -> dict[str, Any]:
    """What a job's page and its polled status fragment show."""
    summary = summary_or_404(name)
    curves = store.metric_curves(name)
    return {
        "job": summary,
        "timeline": store.timeline(summary),
        "charts": charts.charts_by_metric(curves),
        "final_metrics": _final_metrics(summary, curves),
        "files": store.job_files(name),
    }


def job_page(
    view: View, request: Request, context: dict[str, Any], status_code: int = 200, **extra: Any
) -> Response:
    """A job's whole page, from its :func:`job_context` (also the Deploy form's error page)."""
    name = context["job"].name
    text, offset = store.read_log_chunk(name, 0, 1 << 20)
    return view.render(
        request,
        "job.html",
        status_code,
        nav="jobs",
        log_text=text,
        log_offset=offset,
        config=jobs.job_request(name),
        evaluation=store.evaluation(name),
        **extra,
        **context,
    )


class TrainingJobPages:
    """/training-jobs: list, detail, log, stop, download; the Create form and its preview."""

    def __init__(self, view: View) -> None:
        self.view = view

    async def home(self, request: Request) -> Response:
        return RedirectResponse("/training-jobs", status_code=303)

    def _jobs_context(self) -> dict[str, Any]:
        rows, total = store.list_jobs(JOBS_PAGE)
        running = any(r.status == store.IN_PROGRESS for r in rows)
        return {"jobs": rows, "total": total, "running": running}

    async def jobs_list(self, request: Request) -> Response:
        return self.view.render(request, "jobs.html", nav="jobs", **self._jobs_context())

    async def jobs_rows(self, request: Request) -> Response:
        return self.view.render(request, "_jobs_table.html", **self._jobs_context())

    async def job_detail(self, request: Request) -> Response:
        name = request.path_params["name"]
        context = job_context(name)
        return job_page(self.view, request, context, default_endpoint=_endpoint_name_for(name))

    async def job_status(self, request: Request) -> Response:
        context = job_context(request.path_params["name"])
        response = self.view.render(request, "_job_status.html", **context)
        if context["job"].status != store.IN_PROGRESS:
            # The job ended while the page polled: reload it whole (Deploy, Stop, log end).
            response.headers["HX-Refresh"] = "true"
        return response

    async def job_log(self, request: Request) -> Response:
        name = request.path_params["name"]
        summary = summary_or_404(name)
        try:
            offset = max(0, int(request.query_params.get("offset", "0")))
        except ValueError:
            offset = 0
        text, next_offset = store.read_log_chunk(name, offset)
        more = summary.status == store.IN_PROGRESS or next_offset > offset
        return self.view.render(
            request, "_log_chunk.html", name=name, text=text, offset=next_offset, more=more
        )

    @posted
    async def job_stop(self, request: Request, form: FormData) -> Response:
        name = request.path_params["name"]
        summary_or_404(name)
        jobs.stop_job(name)
        return RedirectResponse(f"/training-jobs/{name}", status_code=303)

    async def job_download(self, request: Request) -> Response:
        name = request.path_params["name"]
        summary_or_404(name)
        path = store.job_files(name).get(request.path_params["file"])
        if path is None:
            raise HTTPException(404, "No such artifact.")
        return FileResponse(path, filename=f"{name}-{path.name}")

    async def job_plot(self, request: Request) -> Response:
        name = request.path_params["name"]
        summary_or_404(name)
        path = store.evaluation_plot(name, request.path_params["file"])
        if path is None:
            raise HTTPException(404, "No such plot.")
        return FileResponse(path, media_type="image/png")

    # ------------------------------------------------------------------ create training job

    async def hyperparameter_table(self, request: Request) -> Response:
        """The table re-filled with the defaults of the objective picked above it."""
        objective = request.query_params.get("objective_defaults", "")
        if objective not in forms.OBJECTIVES:
            objective = forms.OBJECTIVES[0]
        return self.view.render(
            request,
            "_hp_table.html",
            hyperparameters=forms.default_hyperparameters(objective),
            hp_errors={},
        )

    async def create_job_form(self, request: Request) -> Response:
        values: dict[str, Any] = {"content_type": "text/csv", "instance_count": "1"}
        hyperparameters = forms.default_hyperparameters("binary:logistic")
        clone = request.query_params.get("clone", "")
        if clone:
            summary_or_404(clone)
            config = jobs.job_request(clone)
            channels = config.get("channels", {})
            values = {
                "job_name": jobs.next_name(clone),
                "train_location": channels.get("train", {}).get("path", ""),
                "validation_location": channels.get("validation", {}).get("path", ""),
                "content_type": channels.get("train", {}).get("content_type") or "text/csv",
                "instance_count": str(config.get("instance_count") or 1),
                "max_runtime_s": str(config.get("max_runtime_s") or ""),
                **_model_fields(config.get("model")),
            }
            hyperparameters = {k: str(v) for k, v in config.get("hyperparameters", {}).items()}
        return self.view.render(
            request,
            "create_job.html",
            nav="create-job",
            values=values,
            errors={},
            hyperparameters=hyperparameters,
            objectives=forms.OBJECTIVES,
            clone=clone,
        )

    @posted
    async def preview(self, request: Request, form: FormData) -> Response:
        channel = str(form.get("channel", "train"))
        if channel not in ("train", "validation"):
            channel = "train"
        values = forms.text_fields(form)
        errors: dict[str, str] = {}
        source = uploads.channel_source(form, values, channel, errors, self.view.max_upload_bytes)
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
        return self.view.render(
            request,
            "_preview.html",
            channel=channel,
            preview=result,
            error=errors.get(channel),
            upload_id=uploads.upload_id_of(source),
        )

    @posted
    async def create_job(self, request: Request, form: FormData) -> Response:
        values = forms.text_fields(form)
        hyperparameters = forms.parse_table(form)
        errors: dict[str, str] = {}
        name = forms.check_name_and_algorithm(
            values, "job_name", errors, ("xgboost", custom_models.CUSTOM)
        )
        model = None
        if values.get("algorithm") == custom_models.CUSTOM:
            model = custom_models.check(
                values.get("model_class", ""), values.get("model_file", ""), errors
            )
        content_type = values.get("content_type", "text/csv")
        if content_type not in data.CONTENT_TYPES:
            errors["content_type"] = f"Choose one of {', '.join(data.CONTENT_TYPES)}."
        instance_count = forms.int_field(values, "instance_count", 1, 1, 8, errors)
        max_runtime = forms.int_field(values, "max_runtime_s", None, 1, 5 * 86400, errors)
        # The XGBoost rules (names, num_class, ranges) are the built-in algorithm's; a custom
        # model checks its own hyperparameters in its check_hyperparameters().
        hp_errors = {} if model else forms.check_hyperparameters(hyperparameters)
        if hp_errors:
            errors["hyperparameters"] = " ".join(hp_errors.values())
        channels: dict[str, dict[str, str]] = {}
        for channel in ("train", "validation"):
            has_input = (
                values.get(f"{channel}_location", "").strip()
                or values.get(f"{channel}_upload_id")
                or uploads.has_file(form, f"{channel}_file")
            )
            if channel == "validation" and not has_input:
                continue
            source = uploads.channel_source(
                form, values, channel, errors, self.view.max_upload_bytes
            )
            if source is not None:
                channels[channel] = {"path": str(source), "content_type": content_type}
        if (
            "validation" not in channels
            and not model
            and hyperparameters.get("early_stopping_rounds")
            and "validation" not in errors
        ):
            errors["validation"] = (
                "early_stopping_rounds needs a validation channel; add one or clear it."
            )
        if errors:
            return self.view.render(
                request,
                "create_job.html",
                400,
                nav="create-job",
                values=values,
                errors=errors,
                hp_errors=hp_errors,
                hyperparameters=hyperparameters or forms.default_hyperparameters("binary:logistic"),
                objectives=forms.OBJECTIVES,
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
                **({"model": model} if model else {}),
            }
        )
        return RedirectResponse(f"/training-jobs/{name}", status_code=303)


def _final_metrics(
    summary: store.JobSummary, curves: dict[str, list[tuple[int, float]]]
) -> dict[str, float]:
    if summary.record and summary.record.get("metrics"):
        return dict(summary.record["metrics"])
    return {k: v[-1][1] for k, v in curves.items() if v}


def _model_fields(model: dict[str, str] | None) -> dict[str, str]:
    """A cloned custom-model job's algorithm fields."""
    if not model:
        return {}
    return {
        "algorithm": custom_models.CUSTOM,
        "model_class": model["class"],
        "model_file": model["file"],
    }


def _endpoint_name_for(job: str) -> str:
    base = f"{job[:58]}-ep"
    return base if endpoints.get_endpoint(base) is None else f"{job[:52]}-ep-{secrets.token_hex(2)}"
