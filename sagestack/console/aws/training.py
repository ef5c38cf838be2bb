"""AWS-mode training pages: the state machine's runs, one run with its job and log, Stop, and
Create (the same start as fit() on ``ml.*``, data from or uploaded to the data bucket)."""

from __future__ import annotations

import base64
import binascii
import json

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagestack.console import forms
from sagestack.console.aws.pages import AwsPages, checked_name
from sagestack.console.security import posted
from sagestack.contract.patterns import is_ml_instance_type
from sagestack.deployed import training
from sagestack.sdk.backends.aws.session import check_bucket
from sagestack.sdk.errors import ConfigurationError, RegionMismatchError
from sagestack.sdk.instances import TrainingInstance
from sagestack.sdk.sources import S3DataSource

LOG_POLL_S = 5  # each poll is a DescribeLogStreams + GetLogEvents per stream


def encode_tokens(tokens: dict[str, str | None]) -> str:
    """The log's forward tokens as an opaque URL value (the page carries them between polls)."""
    return base64.urlsafe_b64encode(json.dumps(tokens).encode()).decode()


def decode_tokens(value: str) -> dict[str, str | None]:
    try:
        tokens = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, binascii.Error):
        return {}
    return {str(k): str(v) for k, v in tokens.items()} if isinstance(tokens, dict) else {}


class RunPages(AwsPages):
    """/training-jobs in AWS mode: list, detail, status, log, stop, create."""

    def home(self, request: Request) -> Response:
        return RedirectResponse("/training-jobs", status_code=303)

    def runs_list(self, request: Request) -> Response:
        runs = training.list_runs(self.connection)
        return self.render(request, "aws_runs.html", nav="jobs", runs=runs)

    def _run(self, request: Request) -> training.RunDetail:
        name = checked_name(request, "training run")
        if not training.run_exists(self.connection, name):
            raise HTTPException(404, f"No training run named {name}.")
        return training.describe_run(self.connection, name)

    def run_detail(self, request: Request) -> Response:
        run = self._run(request)
        lines, tokens = (
            ([], {}) if run.job is None else training.read_log(self.connection, run.job.name)
        )
        return self.render(
            request,
            "aws_run.html",
            nav="jobs",
            run=run,
            job=run.job,
            log_text="\n".join(p + m for p, m in lines),
            log_offset=encode_tokens(tokens),
            log_poll_s=LOG_POLL_S,
        )

    def run_status(self, request: Request) -> Response:
        run = self._run(request)
        response = self.view.render(request, "_aws_run_status.html", run=run, job=run.job)
        if run.status != "RUNNING":
            response.headers["HX-Refresh"] = "true"
        return response

    def run_log(self, request: Request) -> Response:
        run = self._run(request)
        if run.job is None:
            return self.view.render(
                request,
                "_log_chunk.html",
                name=run.name,
                text="",
                offset="",
                more=True,
                log_poll_s=LOG_POLL_S,
            )
        tokens = decode_tokens(request.query_params.get("offset", ""))
        lines, tokens = training.read_log(self.connection, run.job.name, tokens)
        more = run.job.status in ("InProgress", "Stopping") or bool(lines)
        return self.view.render(
            request,
            "_log_chunk.html",
            name=run.name,
            text="\n".join(p + m for p, m in lines),
            offset=encode_tokens(tokens),
            more=more,
            log_poll_s=LOG_POLL_S,
        )

    @posted
    async def run_stop(self, request: Request, form: FormData) -> Response:
        run = await run_in_threadpool(self._run, request)
        if run.job is not None and run.job.status == "InProgress":
            await run_in_threadpool(training.stop_job, self.connection, run.job.name)
        return RedirectResponse(f"/training-jobs/{run.name}", status_code=303)

    # ------------------------------------------------------------------ create

    def _create_page(
        self,
        request: Request,
        status: int,
        values: dict[str, str],
        errors: dict[str, str],
        hyperparameters: dict[str, str],
        hp_errors: dict[str, str] | None = None,
    ) -> Response:
        platform = self.connection.platform()
        return self.render(
            request,
            "aws_create.html",
            status,
            nav="create-job",
            values=values,
            errors=errors,
            hyperparameters=hyperparameters,
            hp_errors=hp_errors or {},
            data_bucket=platform.data_bucket,
            upload_prefixes=training.UPLOAD_PREFIXES,
            group=platform.values.get("model-package-group-name"),
        )

    def create_form(self, request: Request) -> Response:
        return self._create_page(
            request, 200, {}, {}, forms.default_hyperparameters("binary:logistic")
        )

    @posted
    async def create(self, request: Request, form: FormData) -> Response:
        values = forms.text_fields(form)
        uploads = {
            channel: upload
            for channel in training.UPLOAD_PREFIXES
            if isinstance(upload := form.get(f"{channel}_file"), UploadFile) and upload.filename
        }
        files = {channel: (u.filename or "", await u.read()) for channel, u in uploads.items()}
        return await run_in_threadpool(self._create, request, form, values, files)

    def _create(
        self,
        request: Request,
        form: FormData,
        values: dict[str, str],
        files: dict[str, tuple[str, bytes]],
    ) -> Response:
        errors: dict[str, str] = {}
        name = values.get("run_name", "").strip()
        if problem := forms.check_job_name(name):
            errors["run_name"] = problem.replace("job", "run")
        elif training.run_exists(self.connection, name):
            errors["run_name"] = (
                f"A training run named {name} already exists; names must be unique."
            )
        instance = _instance(values, errors)
        hyperparameters = forms.parse_table(form)
        hp_errors = forms.check_hyperparameters(hyperparameters)
        if hp_errors:
            errors["hyperparameters"] = " ".join(hp_errors.values())
        channels = {}
        for channel in training.UPLOAD_PREFIXES:
            location = values.get(f"{channel}_location", "").strip()
            if location and channel in files:
                errors[channel] = "Give a location or upload a file, not both."
            elif not location and channel not in files:
                errors[channel] = (
                    f"The Training stack needs a {channel} channel: a location or a file."
                )
            elif location and not location.startswith("s3://"):
                errors[channel] = "An s3:// URI in the environment's data bucket."
            elif channel in files and not files[channel][1]:
                errors[channel] = "The uploaded file is empty."
            elif location:
                channels[channel] = location
        platform = self.connection.platform()
        for channel, uri in channels.items():
            try:  # before any upload, so a refused form creates nothing
                check_bucket(platform, S3DataSource(uri, "text/csv"), "training", channel)
            except (ConfigurationError, RegionMismatchError, ValueError) as exc:
                errors[channel] = str(exc)
        if errors:
            return self._create_page(
                request,
                400,
                values,
                errors,
                hyperparameters or forms.default_hyperparameters("binary:logistic"),
                hp_errors,
            )
        for channel, (filename, data) in files.items():
            channels[channel] = training.upload_channel_file(
                self.connection, channel, filename, data
            )
        assert instance is not None
        try:
            training.start_run(self.connection, name, channels, hyperparameters, instance)
        except (ConfigurationError, RegionMismatchError) as exc:
            errors["train"] = str(exc)
            return self._create_page(request, 400, values, errors, hyperparameters)
        return RedirectResponse(f"/training-jobs/{name}", status_code=303)


def _instance(values: dict[str, str], errors: dict[str, str]) -> TrainingInstance | None:
    """The instance type and count, checked as TrainingInstance checks them."""
    count = forms.int_field(values, "instance_count", 1, 1, 100, errors)
    kind = values.get("instance_type", "").strip() or "ml.m5.xlarge"
    if not is_ml_instance_type(kind):
        errors["instance_type"] = (
            f"{kind!r} is not a SageMaker instance type: ml.<family>.<size>, e.g. ml.m5.xlarge."
        )
        return None
    try:
        return TrainingInstance(kind, count or 1)
    except (TypeError, ValueError) as exc:
        errors["instance_type"] = str(exc)
        return None
