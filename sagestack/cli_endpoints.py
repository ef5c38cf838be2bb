"""The ``sagestack`` commands for local endpoints: serve a model archive, stop it, invoke it."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sagestack.cli_support import console, err_console, pairs, require_local


def _is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback one (127.0.0.0/8, ::1)."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return True  # nothing to warn about: binding fails and says why
    return all(ipaddress.ip_address(str(a).partition("%")[0]).is_loopback for a in addresses)


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
    require_local(local)
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
            environment=dict(pairs(env or [], "--env")),
            execution_parameters=execution_parameters,
            status=status,
        )
    except StartupError as exc:
        err_console.print(f"[red bold]Cannot start the endpoint:[/red bold] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    finally:
        for record in records:
            record.unlink(missing_ok=True)


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


def register(app: typer.Typer) -> None:
    """Adds serve, stop and invoke to the ``sagestack`` command."""
    for command in (serve, stop, invoke):
        app.command()(command)
