"""The ``upload``, ``status`` and ``report`` commands: data in, runs listed, evaluations shown."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sagestack import cli_deployed

console = Console()
err_console = Console(stderr=True)

EnvOption = Annotated[
    str | None,
    typer.Option("--env", help="SageStack environment (default: $SAGESTACK_ENV, else dev)."),
]
RegionOption = Annotated[
    str | None, typer.Option(help="AWS region of the stacks (default: the AWS config's).")
]
LocalOption = Annotated[
    bool, typer.Option("--local", help="Look at this machine's runs (.sagestack/) instead.")
]
F = TypeVar("F", bound=Callable[..., Any])


def _friendly_errors(command: F) -> F:
    """SDK errors (not deployed, no credentials, ...) as one red line and exit code 1."""

    @wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        from sagestack.sdk.errors import SageStackError

        try:
            return command(*args, **kwargs)
        except (SageStackError, FileNotFoundError) as exc:
            err_console.print(f"[red]{exc}[/red]", highlight=False)
            raise typer.Exit(1) from exc

    return run  # type: ignore[return-value]


def upload(
    path: Annotated[Path, typer.Argument(help="A file or a directory of data files.")],
    channel: Annotated[
        str, typer.Option(help="Channel the data is for; part of the key prefix.")
    ] = "train",
    prefix: Annotated[str, typer.Option(help="Key prefix in the data bucket.")] = "uploads",
    env: EnvOption = None,
    region: RegionOption = None,
) -> None:
    """Upload local data to the environment's data bucket and print its S3 URI.

    Keys are uploads/<channel>/<content hash>/..., so the same data is uploaded once and a
    changed file never replaces what a running job reads. Pass the printed URI to
    S3DataSource(...) or to a training execution.
    """
    from sagestack.sdk.platform import connect
    from sagestack.sdk.uploads import upload_path

    platform = connect(env, region)
    with platform.errors():
        uri = upload_path(
            platform,
            path,
            bucket=platform.data_bucket,
            prefix=f"{prefix.strip('/')}/{channel}",
            console=err_console,
        )
    console.print(uri, markup=False, highlight=False)
    err_console.print(f"[dim]S3DataSource({uri!r})[/dim]", highlight=False)


_STATUS_STYLE = {
    "Completed": "[green]Completed[/green]",
    "Failed": "[red]Failed[/red]",
    "Stopped": "[yellow]Stopped[/yellow]",
}


def _paths(label: str, rows: Iterable[tuple[str, str]]) -> list[Text]:
    """``label NAME: PATH`` lines, printed whole below a table (a table cell would cut or fold
    a long path, and a folded one cannot be copied)."""
    return [Text(f"{label} {name}: {path}", no_wrap=True) for name, path in rows if path]


def _local_jobs(limit: int) -> list[Table | Text]:
    from sagestack import paths
    from sagestack.local.training import read_status

    state = paths.default_state_dir()
    table = Table(title=f"Local training jobs ({state / 'jobs'})")
    table.add_column("job", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("started", no_wrap=True)
    models = []
    jobs = sorted((state / "jobs").glob("*/"), key=lambda p: p.stat().st_mtime, reverse=True)
    for job in jobs[:limit]:
        model = state / "artifacts" / job.name / "output" / "model.tar.gz"
        recorded = read_status(job)
        if recorded is not None:
            status = _STATUS_STYLE.get(recorded, recorded)
        elif model.is_file():
            status = "[green]Completed[/green]"
        elif any(job.glob("output/failure")) or any(job.glob("*/output/failure")):
            status = "[red]Failed[/red]"
        else:
            status = "InProgress or Stopped"
        table.add_row(job.name, status, cli_deployed.when(job.stat().st_mtime))
        models.append((job.name, str(model) if model.is_file() else ""))
    return [table, *_paths("model.tar.gz of", models)]


def _local_endpoints() -> list[Table | Text]:
    from sagestack.local.endpoints import endpoints_dir, read_records

    table = Table(title=f"Local endpoints ({endpoints_dir()})")
    for column in ("endpoint", "status", "pid", "url", "started by"):
        table.add_column(column, no_wrap=column != "started by", overflow="fold")
    records = read_records()
    for record in records:
        status = (
            "[green]InService[/green]"
            if record.alive()
            else "[dim]Gone (process exited; sagestack stop --prune)[/dim]"
        )
        table.add_row(record.name, status, str(record.pid), record.url, record.started_by)
    return [table, *_paths("model of", ((r.name, r.model) for r in records))]


def status(
    local: LocalOption = False,
    env: EnvOption = None,
    region: RegionOption = None,
    profile: cli_deployed.ProfileOption = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="Rows per table.")] = 10,
) -> None:
    """List training runs and endpoints: on AWS, or with --local on this machine."""
    from sagestack.deployed.connection import Connection

    shown: Sequence[Table | Text] = (
        [*_local_jobs(limit), *_local_endpoints()]
        if local
        else cli_deployed.aws_status(Connection.open(env, profile, region), limit)
    )
    out = Console()  # sized now, so COLUMNS set for this command is honoured
    for item in shown:
        out.print(item, soft_wrap=isinstance(item, Text))


# ----------------------------------------------------------------------------- report


def _evaluation_from_tar(data: bytes, where: str) -> dict[str, Any]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar.getmembers():
            if Path(member.name).name == "evaluation.json":
                handle = tar.extractfile(member)
                if handle is not None:
                    return dict(json.load(handle))
    raise FileNotFoundError(f"{where} has no evaluation.json")


def _local_report(run: str) -> tuple[dict[str, Any], str]:
    from sagestack import paths

    path = Path(run)
    if not path.exists():
        path = paths.default_state_dir() / "jobs" / run
    if path.is_file() and path.suffix == ".json":
        return json.loads(path.read_text()), str(path)
    if path.is_file():
        return _evaluation_from_tar(path.read_bytes(), str(path)), str(path)
    for candidate in (
        path / "output/data/evaluation.json",
        path / "algo-1/output/data/evaluation.json",
    ):
        if candidate.is_file():
            return json.loads(candidate.read_text()), str(candidate)
    raise FileNotFoundError(
        f"no evaluation report for {run!r}: give a local job name (sagestack status --local), "
        "a job directory, an evaluation.json or an output.tar.gz"
    )


@contextmanager
def _spinner(text: str) -> Iterator[None]:
    with err_console.status(text):
        yield


def _aws_report(run: str, env: str | None, region: str | None) -> tuple[dict[str, Any], str]:
    from botocore.exceptions import ClientError

    from sagestack.sdk.backends.aws.executions import ExecutionRun
    from sagestack.sdk.platform import connect
    from sagestack.sdk.sources import S3DataSource

    platform = connect(env, region)
    with platform.errors():
        if run.startswith("s3://"):
            uri = run
        else:
            job = run
            if run.startswith("arn:") or "training-state-machine-arn" in platform.values:
                arn = run
                if not run.startswith("arn:"):
                    machine = platform.training_state_machine_arn
                    arn = machine.replace(":stateMachine:", ":execution:") + f":{run}"
                try:
                    found = ExecutionRun(platform, run, arn).find_training_job()
                except ClientError:
                    found = None
                job = found or run
            try:
                description = platform.client("sagemaker").describe_training_job(
                    TrainingJobName=job
                )
            except ClientError as exc:
                raise FileNotFoundError(
                    f"{run!r} is neither a training job nor a training execution of "
                    f"environment {platform.environment!r} ({exc})"
                ) from exc
            output = description["OutputDataConfig"]["S3OutputPath"].rstrip("/")
            uri = f"{output}/{job}/output/output.tar.gz"
        source = S3DataSource(uri)
        with _spinner(f"Downloading {uri}"):
            body = platform.client("s3").get_object(Bucket=source.bucket, Key=source.key)
            data = body["Body"].read()
    return _evaluation_from_tar(data, uri), uri


def _scalar(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def render_report(report: dict[str, Any], source: str) -> None:
    """Any evaluation.json: scalars, per-channel metrics, quality numbers, top features."""
    summary = Table(title="Evaluation report", show_header=False)
    summary.add_row("source", source)
    for key, value in report.items():
        if not isinstance(value, dict | list):
            summary.add_row(key, _scalar(value))
    for key, value in (report.get("rows") or {}).items():
        summary.add_row(f"rows: {key}", str(value))
    if report.get("plots"):
        plots = ", ".join(report["plots"])
        summary.add_row("plots", f"{plots}, beside evaluation.json in {source}")
    console.print(summary)
    metrics = report.get("metrics") or {}
    if metrics:
        names = sorted({m for values in metrics.values() for m in values})
        table = Table(title="Metrics")
        table.add_column("channel")
        for name in names:
            table.add_column(name, justify="right")
        for channel, values in metrics.items():
            table.add_row(channel, *(_scalar(values.get(n, "")) for n in names))
        console.print(table)
    quality = report.get("quality") or {}
    if quality:
        table = Table(title=f"Quality on {report.get('evaluated_on', 'the evaluation data')}")
        for name in quality:
            table.add_column(name, justify="right")
        table.add_row(*(_scalar(v) for v in quality.values()))
        console.print(table)
    matrix = report.get("confusion_matrix") or []
    if matrix:
        table = Table(title="Confusion matrix (rows: true class, columns: predicted class)")
        table.add_column("class")
        for k in range(len(matrix)):
            table.add_column(str(k), justify="right")
        for k, row in enumerate(matrix):
            table.add_row(str(k), *(str(n) for n in row))
        console.print(table)
    importance = report.get("feature_importance_gain") or {}
    if importance:
        table = Table(title="Top features (gain)")
        table.add_column("feature")
        table.add_column("gain", justify="right")
        for name, gain in list(importance.items())[:10]:
            table.add_row(name, _scalar(gain))
        console.print(table)


def report(
    run: Annotated[
        str,
        typer.Argument(
            help="Training job or execution name, or an s3:// output.tar.gz; with --local a "
            "job name, job directory, evaluation.json or output.tar.gz."
        ),
    ],
    local: LocalOption = False,
    env: EnvOption = None,
    region: RegionOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON.")] = False,
) -> None:
    """Print a training run's evaluation report (evaluation.json from its output data)."""
    data, source = _local_report(run) if local else _aws_report(run, env, region)
    if as_json:
        console.print_json(json.dumps(data))
    else:
        render_report(data, source)


def register(app: typer.Typer) -> None:
    """Add the commands to the ``sagestack`` app."""
    for command in (upload, status, report, cli_deployed.logs, cli_deployed.approve):
        app.command()(_friendly_errors(command))
