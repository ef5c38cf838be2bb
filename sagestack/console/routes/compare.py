"""Comparing training jobs side by side, and a job's Show code page (SDK, CLI, API)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from sagestack.console import charts, codegen, jobs, store
from sagestack.console.routes.training_jobs import summary_or_404
from sagestack.console.view import NAME, View


class ComparePages:
    """/compare?jobs=a&jobs=b and /training-jobs/{name}/code."""

    def __init__(self, view: View) -> None:
        self.view = view

    async def compare(self, request: Request) -> Response:
        names = [n for n in request.query_params.getlist("jobs") if NAME.match(n)]
        summaries = [s for n in dict.fromkeys(names) if (s := store.summarize(n)) is not None]
        if len(summaries) < 2:
            return self.view.render(
                request,
                "compare.html",
                400,
                nav="compare",
                error="Pick two or more training jobs to compare (tick them in the list).",
                jobs=summaries,
                rows=[],
                charts=[],
            )
        configs = {s.name: jobs.job_request(s.name) for s in summaries}
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
        return self.view.render(
            request,
            "compare.html",
            nav="compare",
            error=None,
            jobs=summaries,
            rows=rows,
            charts=overlaid,
        )

    async def job_code(self, request: Request) -> Response:
        name = request.path_params["name"]
        summary_or_404(name)
        config = jobs.job_request(name)
        return self.view.render(
            request,
            "code.html",
            nav="jobs",
            name=name,
            sdk=codegen.sdk_code(config),
            cli=codegen.cli_command(config),
            api=codegen.create_training_job_request(config),
        )
