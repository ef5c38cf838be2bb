"""One serving worker process: loads the model, then serves the supervisor's listening socket
with uvicorn, taking connections through the least-connections acceptor (balance.py)."""

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
from sagestack.serving.balance import (
    BalancedAcceptor,
    LoadBoard,
    counted_protocol,
    shed_when_unbalanced,
)
from sagestack.serving.config import ServeConfig
from sagestack.serving.handlers import HandlerError, Transformer, import_user_module

STARTUP_FAILED = 3  # exit code for "cannot start", so the supervisor does not retry blindly
_PR_SET_PDEATHSIG = 1


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


async def _serve(
    config: ServeConfig,
    app: object,
    sock: socket.socket,
    board: LoadBoard,
    index: int,
    status_fd: int,
) -> None:
    import uvicorn

    loop = asyncio.get_running_loop()
    acceptor = BalancedAcceptor(loop, sock, board, index)
    uv_config = uvicorn.Config(
        shed_when_unbalanced(app, acceptor),
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
    uv_config.load()
    server = uvicorn.Server(uv_config)
    protocol_class = counted_protocol(uv_config.http_protocol_class, acceptor.change)

    def protocol_factory() -> asyncio.Protocol:
        return protocol_class(  # type: ignore[no-any-return]
            config=uv_config, server_state=server.server_state, app_state={}
        )

    acceptor.protocol_factory = protocol_factory
    parent = os.getppid()
    # No sockets for uvicorn itself: it runs the connections the acceptor hands it.
    task = asyncio.create_task(server.serve(sockets=[]))
    while not server.started and not task.done():
        await asyncio.sleep(0.005)
    if server.started:
        acceptor.start()
        _Serving.started = True
        _report(status_fd, event="ready", pid=os.getpid())
    while not task.done():
        if os.getppid() != parent:
            server.should_exit = True
        if server.should_exit:
            acceptor.stop()
        await asyncio.wait({task}, timeout=0.1)
    acceptor.stop()
    await task


def main(argv: list[str] | None = None) -> int:
    """``python -m sagestack.serving.worker CONFIG_JSON STATUS_FD LISTEN_FD BOARD_FD INDEX``.

    LISTEN_FD is the supervisor's listening socket, shared by every worker; BOARD_FD the
    shared connection counts; INDEX this worker's slot on the board.
    """
    args = sys.argv[1:] if argv is None else argv
    config = ServeConfig.from_json(args[0])
    status_fd = int(args[1])
    listen_fd, board_fd, index = int(args[2]), int(args[3]), int(args[4])
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
        sock = socket.socket(fileno=listen_fd)
        sock.setblocking(False)
        board = LoadBoard(board_fd, config.workers)
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
        runner.run(_serve(config, app, sock, board, index, status_fd))
    return 0


if __name__ == "__main__":
    sys.exit(main())
