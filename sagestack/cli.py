"""The ``sagestack`` command: train, serve and invoke locally under the SageMaker contract."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sagestack import cli_cloud
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
console = Console()
err_console = Console(stderr=True)


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    """``key=value`` options, failing with the offending value named."""
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} must look like key=value, got {item!r}")
        pairs.append((key, value))
    return pairs


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback one (127.0.0.0/8, ::1)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return True  # nothing to warn about: binding fails and says why
    return all(ipaddress.ip_address(str(a).partition("%")[0]).is_loopback for a in addresses)


def _require_local(local: bool) -> None:
    if not local:
        err_console.print(
            "[red]Only --local is implemented by the CLI; use the SDK (or the deployed "
            "stacks) to run on SageMaker.[/red]"
        )
        raise typer.Exit(2)


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
    _require_local(local)
    inputs: dict[str, Channel] = {}
    named = [("train", train_data), ("validation", validation)]
    try:
        for name, value in [(n, v) for n, v in named if v] + _pairs(channel or [], "--channel"):
            inputs[name] = _channel(name, channel_source(value), content_type)
    except S3InputError as exc:
        err_console.print(Text(str(exc), style="red"), soft_wrap=True)
        raise typer.Exit(2) from None
    except ChannelError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not inputs:
        raise typer.BadParameter("give at least --train (or a --channel)")
    hyperparameters: dict[str, Any] = {k: decode_value(v) for k, v in _pairs(hp or [], "--hp")}
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


@app.command()
def serve(
    model_data: Annotated[Path, typer.Argument(help="model.tar.gz (or an extracted model dir).")],
    port: Annotated[int, typer.Option(help="0 picks a free port.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 2,
    code_dir: Annotated[
        Path | None,
        typer.Option(help="Inference code dir (default: code/ in the archive, else inference/)."),
    ] = None,
    program: Annotated[
        str | None,
        typer.Option(
            help="SAGEMAKER_PROGRAM (default: sagestack_serve.py for a custom Model's archive, "
            "else inference.py)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    env: Annotated[
        list[str] | None, typer.Option(help="Container environment KEY=VALUE (repeatable).")
    ] = None,
    execution_parameters: Annotated[
        bool,
        typer.Option(
            help="Answer /execution-parameters like the built-in algorithm's container "
            "(default: 404, as the script-mode container answers)."
        ),
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="Endpoint name for status/stop (default: local-<port>).")
    ] = None,
    local: Annotated[bool, typer.Option("--local", help="Serve on this machine.")] = False,
) -> None:
    """Serve a model archive's handlers on loopback until Ctrl-C / SIGTERM / sagestack stop."""
    _require_local(local)
    from sagestack.local.endpoints import write_record
    from sagestack.serving.supervisor import StartupError
    from sagestack.serving.supervisor import serve as run_server

    if not _is_loopback(host):
        err_console.print(
            f"[yellow bold]Warning:[/yellow bold] --host {host} is not a loopback address. "
            "Anyone who can reach this machine on the endpoint's port can invoke it: the "
            "endpoint has no authentication, and its handlers run code from the model archive. "
            "Use the default 127.0.0.1 unless you mean to share it.",
            highlight=False,
        )
    records: list[Path] = []

    def status(event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "ready":
            url = f"http://{host}:{event['port']}"
            endpoint = name or f"local-{event['port']}"
            records.append(
                write_record(
                    endpoint,
                    pid=os.getpid(),
                    url=url,
                    model=str(model_data.resolve()),
                    started_by="sagestack serve",
                )
            )
            console.print(
                f"[green]Serving[/green] {model_data} ({event.get('program')}) with {workers} "
                f"worker(s) on {url}\n"
                f"  POST {url}/invocations  ·  boto3 sagemaker-runtime endpoint_url={url}\n"
                f"  Ctrl-C (or sagestack stop {endpoint}) to stop",
                soft_wrap=True,
            )
            sys.stdout.flush()  # a pipe (tee, a test) sees the URL now, not at exit
        elif kind == "worker-exited":
            err_console.print(
                f"[yellow]worker {event['worker']} exited (code {event['code']}); "
                f"restarting in {event['restart_in_s']:.1f} s[/yellow]"
            )
        elif kind == "stopping":
            console.print("Shutting down (finishing in-flight requests)...")
        elif kind == "stopped":
            console.print("Stopped.")

    try:
        run_server(
            model_data,
            code_dir=code_dir,
            program=program,
            host=host,
            port=port,
            workers=workers,
            environment=dict(_pairs(env or [], "--env")),
            execution_parameters=execution_parameters,
            status=status,
        )
    except StartupError as exc:
        err_console.print(f"[red bold]Cannot start the endpoint:[/red bold] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    finally:
        for record in records:
            record.unlink(missing_ok=True)


@app.command()
def stop(
    name: Annotated[
        str | None, typer.Argument(help="Endpoint name (sagestack status --local).")
    ] = None,
    all_endpoints: Annotated[
        bool, typer.Option("--all", help="Stop every local endpoint of this directory.")
    ] = False,
    prune: Annotated[
        bool, typer.Option(help="Only drop the records of endpoints that are no longer running.")
    ] = False,
) -> None:
    """Stop a local endpoint, whoever started it (SDK deploy() or sagestack serve)."""
    from sagestack.local import endpoints

    if prune:
        gone = endpoints.prune()
        console.print(f"Dropped {len(gone)} record(s): {', '.join(r.name for r in gone) or '-'}")
        return
    if bool(name) == all_endpoints:
        raise typer.BadParameter("give an endpoint NAME or --all (or --prune)")
    targets = endpoints.read_records() if all_endpoints else []
    if name:
        found = endpoints.find(name)
        if found is None:
            known = ", ".join(r.name for r in endpoints.read_records()) or "none"
            err_console.print(
                f"[red]No local endpoint named {name!r}[/red] (known: {known})", highlight=False
            )
            raise typer.Exit(1)
        targets = [found]
    for record in targets:
        was_running = endpoints.stop(record)
        state = "Stopped" if was_running else "Was not running; record dropped"
        console.print(f"{record.name}: {state} (pid {record.pid})", highlight=False)


@app.command()
def invoke(
    source: Annotated[str, typer.Argument(help="File with the request body, or - for stdin.")],
    url: Annotated[
        str | None, typer.Option(help="Container URL (default http://127.0.0.1:8080).")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="Use boto3 sagemaker-runtime against this URL instead.")
    ] = None,
    endpoint_name: Annotated[str, typer.Option(help="EndpointName for --endpoint-url.")] = "local",
    content_type: Annotated[str, typer.Option(help="Request Content-Type.")] = "text/csv",
    accept: Annotated[str | None, typer.Option(help="Response type wanted.")] = None,
) -> None:
    """Send a request body to a local endpoint and print the response body."""
    from sagestack.serving.client import invoke_http, invoke_runtime, runtime_client

    if url and endpoint_url:
        raise typer.BadParameter("give --url or --endpoint-url, not both")
    body = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    try:
        if endpoint_url:
            result = invoke_runtime(
                runtime_client(endpoint_url),
                endpoint_name,
                body,
                content_type=content_type,
                accept=accept,
            )
        else:
            result = invoke_http(
                url or "http://127.0.0.1:8080", body, content_type=content_type, accept=accept
            )
    except Exception as exc:  # connection refused, timeouts, bad URL: one line, not a trace
        err_console.print(f"[red]Request failed:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    if not result.ok:
        err_console.print(
            f"[red]HTTP {result.status}[/red]: {result.body.decode('utf-8', 'replace')}",
            highlight=False,
        )
        raise typer.Exit(1)
    sys.stdout.buffer.write(result.body)
    # A text answer ends its line, so the shell prompt does not follow it on the same line.
    textual = (result.content_type or "").startswith(("text/", "application/json"))
    if textual and not result.body.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    sys.stdout.buffer.flush()


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
