"""One serving worker process: loads the model, binds its own socket, runs uvicorn."""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import signal
import socket
import sys
from pathlib import Path

from sagestack.serving.asgi import create_app
from sagestack.serving.config import ServeConfig
from sagestack.serving.handlers import HandlerError, Transformer, import_user_module

STARTUP_FAILED = 3  # exit code for "cannot start", so the supervisor does not retry blindly
_PR_SET_PDEATHSIG = 1


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket of this worker's own, sharing the port through SO_REUSEPORT.

    With one socket per worker the kernel spreads new connections across workers; with one
    shared socket, whichever worker accepts first keeps every keep-alive connection.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when the supervisor dies, so no orphan holds the port."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the parent watcher below still catches it within a second


class _Serving:
    started = False


def _on_sigterm(signum: int, frame: object) -> None:
    # Before serving (model loading), stop at once. While serving, uvicorn's own handler is
    # installed and shuts down gracefully; it re-raises the signal afterwards, which lands
    # here and must be a no-op so the process exits 0 instead of dying from the signal.
    if not _Serving.started:
        raise SystemExit(0)


def _report(status_fd: int, **event: object) -> None:
    os.write(status_fd, (json.dumps(event) + "\n").encode())


async def _serve(config: ServeConfig, app: object, sock: socket.socket, status_fd: int) -> None:
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,  # type: ignore[arg-type]
            http="httptools",
            ws="none",
            lifespan="off",
            interface="asgi3",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            log_level="warning",
            timeout_keep_alive=config.keep_alive_s,
            timeout_graceful_shutdown=int(config.graceful_timeout_s),
        )
    )
    parent = os.getppid()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started and not task.done():
        await asyncio.sleep(0.005)
    if server.started:
        _Serving.started = True
        _report(status_fd, event="ready", pid=os.getpid())
    while not task.done():
        if os.getppid() != parent:
            server.should_exit = True
        await asyncio.wait({task}, timeout=1.0)
    await task


def main(argv: list[str] | None = None) -> int:
    """``python -m sagestack.serving.worker CONFIG_JSON STATUS_FD``."""
    args = sys.argv[1:] if argv is None else argv
    config = ServeConfig.from_json(args[0])
    status_fd = int(args[1])
    signal.signal(signal.SIGTERM, _on_sigterm)
    _die_with_parent()
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"[worker {os.getpid()}] %(levelname)s %(name)s: %(message)s",
    )
    try:
        accept = os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or "application/json"
        transformer = Transformer(
            import_user_module(Path(config.code_dir), config.program), default_accept=accept
        )
        transformer.load(Path(config.model_dir))
        sock = bind_socket(config.host, config.port)
    except (HandlerError, OSError) as exc:
        _report(status_fd, event="error", message=str(exc))
        return STARTUP_FAILED
    app = create_app(
        transformer,
        execution_parameters=config.execution_parameters_body(),
        max_payload_bytes=config.max_payload_bytes,
    )
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(config, app, sock, status_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
