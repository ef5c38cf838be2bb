"""AWS-mode Model registry page: the group's versions, Approve / Reject with a description."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sagestack.console import forms
from sagestack.console.aws.pages import AwsPages
from sagestack.console.security import posted
from sagestack.deployed import registry


class RegistryPages(AwsPages):
    """/registry: list and review model package versions (UpdateModelPackage)."""

    def _page(
        self, request: Request, status: int, values: dict[str, str], errors: dict[str, str]
    ) -> Response:
        return self.render(
            request,
            "registry.html",
            status,
            nav="registry",
            group=registry.group_name(self.connection),
            packages=registry.list_packages(self.connection),
            values=values,
            errors=errors,
        )

    def packages(self, request: Request) -> Response:
        return self._page(request, 200, {}, {})

    @posted
    async def approval(self, request: Request, form: FormData) -> Response:
        return await run_in_threadpool(self._approval, request, forms.text_fields(form))

    def _approval(self, request: Request, values: dict[str, str]) -> Response:
        arn = values.get("arn", "").strip()
        decision = values.get("decision", "")
        description = values.get("description", "").strip()
        errors: dict[str, str] = {}
        if problem := registry.check_package_arn(self.connection, arn):
            errors["approval"] = problem
        elif decision not in (registry.APPROVED, registry.REJECTED):
            errors["approval"] = "Choose Approve or Reject."
        if not description:
            errors["description"] = "Say why: the description is kept with the version."
        elif len(description) > registry.MAX_DESCRIPTION:
            errors["description"] = f"At most {registry.MAX_DESCRIPTION} characters."
        if errors:
            return self._page(request, 400, values, errors)
        registry.set_approval(self.connection, arn, decision, description)
        return RedirectResponse("/registry", status_code=303)
