"""The Create model page: one data file in, a split, a default XGBoost job, started."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagestack.console import data, forms, jobs, uploads
from sagestack.console.security import posted
from sagestack.console.view import View


class ModelPages:
    """/models/create: the short path from a data file to a training job."""

    def __init__(self, view: View) -> None:
        self.view = view

    async def create_model_form(self, request: Request) -> Response:
        return self.view.render(
            request, "create_model.html", nav="create-model", values={}, errors={}
        )

    @posted
    async def create_model(self, request: Request, form: FormData) -> Response:
        values = forms.text_fields(form)
        errors: dict[str, str] = {}
        name = forms.check_name_and_algorithm(values, "name", errors)
        source = uploads.data_source(
            form, "data", values.get("location", ""), errors, "data", self.view.max_upload_bytes
        )
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
        return self.view.render(
            request, "create_model.html", 400, nav="create-model", values=values, errors=errors
        )
