"""``status --env``, ``logs`` and ``approve``: the deployed environment from a terminal, through
the same calls as the console's AWS mode (sagestack.deployed)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from sagestack.cli_support import err_console
from sagestack.deployed.connection import Connection

ProfileOption = Annotated[
    str | None, typer.Option(help="AWS profile (default: boto3's default credential chain).")
]


def when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone().strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def _table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table


def aws_status(connection: Connection, limit: int) -> list[Table]:
    """Training runs (each with its job), SageStack training jobs and endpoints."""
    from sagestack.deployed import endpoints, training

    platform = connection.platform()
    tables = []
    if "training-state-machine-arn" in platform.values:
        tables.append(
            _table(
                f"Training executions ({platform.environment}, {platform.region})",
                ("execution", "status", "training job", "job status", "started", "stopped"),
                [
                    (
                        r.name,
                        r.status,
                        r.job_name or "",
                        r.job_status or "",
                        when(r.started),
                        when(r.stopped),
                    )
                    for r in training.list_runs(connection, limit)
                ],
            )
        )
    tables.append(
        _table(
            "Training jobs",
            ("job", "status", "created", "ended"),
            [
                (
                    j["TrainingJobName"],
                    j["TrainingJobStatus"],
                    when(j.get("CreationTime")),
                    when(j.get("TrainingEndTime")),
                )
                for j in training.list_jobs(connection, limit)
            ],
        )
    )
    tables.append(
        _table(
            "Endpoints",
            ("endpoint", "status", "created", "what", "variants"),
            [
                (
                    e.name,
                    e.status,
                    when(e.created),
                    e.origin,
                    "; ".join(f"{v.name}: {v.compute}" for v in e.variants),
                )
                for e in endpoints.list_endpoints(connection)
            ],
        )
    )
    return tables


def logs(
    job: Annotated[
        str, typer.Argument(help="Training job name, or a training run's execution name.")
    ],
    env: Annotated[str | None, typer.Option("--env", help="SageStack environment.")] = None,
    profile: ProfileOption = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the stacks.")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")
    ] = False,
) -> None:
    """Print a training job's CloudWatch log (/aws/sagemaker/TrainingJobs/<job>/*)."""
    from botocore.exceptions import ClientError

    from sagestack.deployed import training
    from sagestack.sdk import watch

    connection = Connection.open(env, profile, region)
    name = job
    try:
        training.describe_job(connection, name)
    except ClientError:  # not a job: an execution of the Training state machine?
        if not training.run_exists(connection, job):
            raise FileNotFoundError(
                f"no training job or training run named {job!r} in environment "
                f"{connection.environment!r}"
            ) from None
        run = training.describe_run(connection, job)
        if run.job is None:
            raise FileNotFoundError(
                f"training run {job!r} has not started a training job yet"
            ) from None
        name = run.job.name
    tokens: dict[str, str | None] = {}
    while True:
        status = training.describe_job(connection, name).status if follow else ""
        lines, tokens = training.read_log(connection, name, tokens)
        for prefix, message in lines:  # verbatim (tabs kept), so the output greps and pipes
            typer.echo(prefix + message)
        if not follow:
            return
        if status not in ("InProgress", "Stopping"):  # read after it ended: nothing is missed
            err_console.print(f"[dim]{name}: {status}[/dim]", highlight=False)
            return
        watch.sleep(watch.POLL_INTERVAL_S)


def approve(
    package_arn: Annotated[str, typer.Argument(help="The model package version's ARN.")],
    description: Annotated[
        str, typer.Option("--description", "-d", help="Why (kept with the version).")
    ] = "",
    reject: Annotated[bool, typer.Option("--reject", help="Reject instead of approve.")] = False,
    env: Annotated[str | None, typer.Option("--env", help="SageStack environment.")] = None,
    profile: ProfileOption = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the stacks.")] = None,
) -> None:
    """Approve (or --reject) a version of the environment's model package group."""
    from sagestack.deployed import registry

    connection = Connection.open(env, profile, region)
    status = registry.REJECTED if reject else registry.APPROVED
    row = registry.set_approval(connection, package_arn, status, description)
    typer.echo(f"{row.arn}: {row.approval}" + (f" ({description})" if description else ""))
