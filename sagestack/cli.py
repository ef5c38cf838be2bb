"""The ``sagestack`` command: train, serve and invoke locally under the SageMaker contract."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from sagestack import cli_cloud, cli_endpoints
from sagestack.cli_support import console, err_console, pairs, require_local
from sagestack.contract.hyperparameters import decode_value
from sagestack.local.channels import (
    Channel,
    ChannelError,
    S3Location,
    channel_source,
    content_type_from_extension,
    content_type_from_names,
)
from sagestack.local.job_spec import TrainingJobSpec
from sagestack.local.s3_input import S3InputError
from sagestack.local.training import (
    TrainingJobError,
    TrainingJobResult,
    TrainingJobStopped,
    run_training_job,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="SageMaker as code, with a local runtime that needs neither Docker nor AWS.",
)


def _print_summary(result: TrainingJobResult) -> None:
    """The job's status and metrics, then its paths whole, one a line (a table cell would cut
    them at the terminal's width)."""
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("Job", result.job_name)
    table.add_row("Status", result.status)
    table.add_row("Duration", f"{result.duration_s:.1f} s")
    for name, value in sorted(result.metrics.items()):
        table.add_row(name, f"{value:.6g}")
    console.print(table)
    paths = [("Job dir", result.job_dir), ("Model", result.model_artifacts)]
    for label, path in [*paths, ("Output", result.output_artifacts)]:
        if path:
            console.print(f"  {label + ':':<10} {path}", soft_wrap=True, highlight=False)


def _inferred_content_type(source: Path | S3Location) -> str | None:
    """The type the extensions of a source's files (or, for s3://, its keys: one listing,
    which also reports a missing bucket or an empty prefix before anything runs) name."""
    if isinstance(source, Path):
        return content_type_from_extension(source)
    from sagestack.local.s3_input import list_objects

    return content_type_from_names([o.key for o in list_objects(source)])


def _channel(name: str, source: Path | S3Location, content_type: str | None) -> Channel:
    """A channel of ``content_type``, or, when none is given, of the type its files' extension
    names (train.py would otherwise assume libsvm, the built-in algorithm's default)."""
    if content_type is None:
        content_type = _inferred_content_type(source)
        if content_type is not None:
            err_console.print(
                f"[dim]channel {name}: ContentType {content_type} (from the file extension; "
                "--content-type overrides)[/dim]",
                highlight=False,
            )
    return Channel(source=source, content_type=content_type)


@app.command()
def train(
    train_data: Annotated[
        str | None,
        typer.Option("--train", help="Local path, file:// or s3:// URI of the train channel."),
    ] = None,
    validation: Annotated[
        str | None,
        typer.Option(help="Local path, file:// or s3:// URI of the validation channel."),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(help="Another channel, NAME=PATH or NAME=s3://URI (repeatable)."),
    ] = None,
    hp: Annotated[
        list[str] | None,
        typer.Option(help="Hyperparameter KEY=VALUE (repeatable); JSON values decoded."),
    ] = None,
    content_type: Annotated[
        str | None, typer.Option(help="ContentType of every channel, e.g. text/csv.")
    ] = None,
    instance_count: Annotated[int, typer.Option(min=1, help="Hosts algo-1..algo-N.")] = 1,
    launch: Annotated[
        str, typer.Option(help="legacy: python -m train (v2 SDK); v3: python3 train.py.")
    ] = "v3",
    output: Annotated[Path | None, typer.Option(help="Artifacts root, like S3OutputPath.")] = None,
    source_dir: Annotated[
        Path | None, typer.Option(help="Code to run (default: the bundled training/).")
    ] = None,
    entry_point: Annotated[str, typer.Option(help="Script in the source dir.")] = "train.py",
    job_name: Annotated[str | None, typer.Option(help="Default: generated, unique.")] = None,
    jobs_root: Annotated[
        Path | None, typer.Option(help="Where job dirs go (default .sagestack/jobs).")
    ] = None,
    max_runtime: Annotated[
        float | None, typer.Option(help="Stop the job after this many seconds.")
    ] = None,
    local: Annotated[bool, typer.Option("--local", help="Run on this machine.")] = False,
) -> None:
    """Run a training job locally in an /opt/ml-like job dir, as the container would."""
    require_local(local)
    inputs: dict[str, Channel] = {}
    named = [("train", train_data), ("validation", validation)]
    try:
        for name, value in [(n, v) for n, v in named if v] + pairs(channel or [], "--channel"):
            inputs[name] = _channel(name, channel_source(value), content_type)
    except S3InputError as exc:
        err_console.print(Text(str(exc), style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    except ChannelError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not inputs:
        raise typer.BadParameter("give at least --train (or a --channel)")
    hyperparameters: dict[str, Any] = {k: decode_value(v) for k, v in pairs(hp or [], "--hp")}
    if launch not in ("legacy", "v3"):
        raise typer.BadParameter(f"--launch must be legacy or v3, got {launch!r}")
    if source_dir is None and entry_point == "train.py":
        from sagestack.sdk.xgboost_model import unknown_hyperparameters_message

        unknown = unknown_hyperparameters_message(hyperparameters)
        if unknown:
            raise typer.BadParameter(unknown, param_hint="--hp")
    try:
        spec = TrainingJobSpec(
            inputs=inputs,
            hyperparameters=hyperparameters,
            source_dir=source_dir,
            entry_point=entry_point,
            launch=launch,
            instance_count=instance_count,
            job_name=job_name,
            jobs_root=jobs_root,
            output_path=output,
            max_runtime_s=max_runtime,
        )
        result = run_training_job(spec, console=console)
    except TrainingJobStopped as exc:
        err_console.print(f"[yellow]{exc}[/yellow]", highlight=False)
        raise typer.Exit(130) from None
    except TrainingJobError as exc:
        _print_summary(exc.result)
        err_console.print(
            f"[red bold]Training job failed[/red bold] (exit code {exc.result.exit_code}"
            f"{' on ' + exc.result.failed_host if exc.result.failed_host else ''}):"
        )
        err_console.print(exc.result.failure_reason or "", markup=False, highlight=False)
        raise typer.Exit(1) from exc
    except (ChannelError, FileNotFoundError, FileExistsError, ValueError) as exc:
        err_console.print(Text(str(exc), style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    _print_summary(result)


# serve, stop and invoke follow train in --help.
cli_endpoints.register(app)


@app.command("console")
def console_command(
    host: Annotated[str, typer.Option(help="Interface to bind (keep loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    env: Annotated[
        str | None,
        typer.Option(
            "--env", help="Show this deployed environment (AWS) instead of this machine's runs."
        ),
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="AWS profile for --env (default: boto3's default chain).")
    ] = None,
    region: Annotated[str | None, typer.Option(help="AWS region of the stacks.")] = None,
) -> None:
    """Start the web console: create, train, deploy and test models in the browser.

    With --env it shows a deployed environment through your AWS credentials (profile, SSO or
    environment; never keys in a form): training runs, the model registry, endpoints.
    """
    from sagestack.console import serve as run_console

    if env is None and (profile or region):
        err_console.print("[red]--profile and --region need --env (the environment to show).[/red]")
        raise typer.Exit(2)
    connection = None
    if env is not None:
        from sagestack.deployed.connection import Connection

        connection = Connection.open(env, profile, region)
    run_console(host, port, connection)


@app.command("example-data")
def example_data(
    directory: Annotated[Path, typer.Argument(help="Where to write it.")] = Path("data"),
) -> None:
    """Write a small example data set: DIR/train/, DIR/validation/ (CSV, label first, no
    header) and DIR/rows.csv (five validation rows without the label, for invoke)."""
    import numpy as np

    from sagestack.demo import csv_payload, write_dataset

    _, _, features, _ = write_dataset(directory)
    (directory / "rows.csv").write_bytes(csv_payload(np.asarray(features[:5])))
    console.print(f"Wrote {directory / 'rows.csv'}", highlight=False)


@app.command()
def demo() -> None:
    """Train the bundled model on breast-cancer data, serve it and invoke it (make demo)."""
    from sagestack.demo import main

    raise typer.Exit(main())


cli_cloud.register(app)

if __name__ == "__main__":
    app()
