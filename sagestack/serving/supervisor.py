"""The serving supervisor: prepares the model, starts N workers, restarts them, shuts down.

It plays the part of gunicorn's arbiter in the container, with one difference that matters
for throughput: connections are balanced across workers by open-connection count (the
workers share one listening socket and a load board; see balance.py), so a few keep-alive
clients never all land on one worker.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from sagestack import paths
from sagestack.local.archive import ArchiveError, extract_tar_gz
from sagestack.serving.balance import ABSENT, LoadBoard
from sagestack.serving.config import ServeConfig
from sagestack.serving.handlers import module_name
from sagestack.serving.install_step import offline_install_error

MAX_STARTUP_FAILURES = 3  # consecutive failed restarts of one worker before giving up
_BACKOFF_MAX_S = 10.0
_STABLE_AFTER_S = 30.0  # a worker up this long resets its backoff

Status = Callable[[dict[str, Any]], None]


class StartupError(RuntimeError):
    """The endpoint cannot start: bad archive, missing module, failing model_fn, busy port."""


@dataclass
class _Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    status_fd: int | None = None
    buffer: bytes = b""
    ready: bool = False
    started_at: float = 0.0
    failures: int = 0
    backoff_s: float = 0.0
    restart_at: float | None = None
    last_error: str | None = None


def prepare_model_dir(model_data: Path, work_dir: Path) -> Path:
    """The model dir to serve: a model.tar.gz is extracted, a directory is used as is."""
    if model_data.is_dir():
        return model_data.resolve()
    try:
        return extract_tar_gz(model_data, work_dir / "model")
    except ArchiveError as exc:
        raise StartupError(str(exc)) from exc


# What the SDK's generic entry point writes into a custom model's code/ (sdk/packaging.py).
_CUSTOM_MODEL_MANIFEST = "sagestack_manifest.json"
CUSTOM_MODEL_PROGRAM = "sagestack_serve.py"
XGBOOST_PROGRAM = "inference.py"


def detect_program(code_dir: Path | None, model_dir: Path) -> str:
    """The handler module an archive needs: a custom Model's archive (its code/ carries the
    SDK's manifest) is served by sagestack_serve.py, anything else by inference.py."""
    code = code_dir if code_dir is not None else model_dir / "code"
    return CUSTOM_MODEL_PROGRAM if (code / _CUSTOM_MODEL_MANIFEST).is_file() else XGBOOST_PROGRAM


def resolve_code_dir(code_dir: Path | None, model_dir: Path, program: str) -> Path:
    """Where the inference module comes from.

    An explicit dir wins. Otherwise ``code/`` inside the model archive, where the SDK repacks
    the inference code (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code), then the
    repository's ``inference/``.
    """
    name = module_name(program)
    candidates = [code_dir] if code_dir else [model_dir / "code", paths.inference_dir()]
    for candidate in candidates:
        if (candidate / f"{name}.py").is_file() or (candidate / name).is_dir():
            return candidate.resolve()
    raise StartupError(
        f"inference module {name!r} not found in " + " or ".join(str(c) for c in candidates)
    )


def listen_socket(host: str, port: int) -> socket.socket:
    """The endpoint's listening socket, created once here and shared by every worker (a
    restarted worker gets the same one, and connections queued meanwhile are not lost).
    Port 0 resolves to a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is already in use") from exc
        raise StartupError(f"cannot bind {host}:{port}: {exc}") from exc
    sock.setblocking(False)
    return sock


def worker_environment(config: ServeConfig) -> dict[str, str]:
    """The variables a serving container has, on top of this process's environment."""
    env = dict(os.environ)
    env.update(
        {
            "SAGEMAKER_PROGRAM": config.program,
            "SAGEMAKER_SUBMIT_DIRECTORY": config.code_dir,
            "SAGEMAKER_BIND_TO_PORT": str(config.port),
            "SAGEMAKER_MODEL_SERVER_WORKERS": str(config.workers),
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(config.environment)
    # The XGBoost image's serving entry point sets this when unset: one thread per worker,
    # because workers already use every core between them.
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class Supervisor:
    """Runs the workers of one endpoint until SIGTERM/SIGINT."""

    def __init__(self, config: ServeConfig, status: Status, sock: socket.socket) -> None:
        self.config = config
        self.status = status
        self.sock = sock
        self.board = LoadBoard.create(config.workers)
        self.workers = [
            _Worker(i, backoff_s=config.restart_backoff_s) for i in range(config.workers)
        ]
        self._stopping = False
        self._env = worker_environment(config)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _spawn(self, worker: _Worker) -> None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(read_fd, False)
        self.board.set(worker.index, ABSENT)  # until it serves, others do not wait for it
        try:
            worker.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sagestack.serving.worker",
                    self.config.to_json(),
                    str(write_fd),
                    str(self.sock.fileno()),
                    str(self.board.fd),
                    str(worker.index),
                ],
                env=self._env,
                stdin=subprocess.DEVNULL,
                pass_fds=(write_fd, self.sock.fileno(), self.board.fd),
                # Its own process group: a terminal Ctrl-C reaches the supervisor only, which
                # then stops the workers in order.
                process_group=0,
            )
        finally:
            os.close(write_fd)
        worker.status_fd = read_fd
        worker.buffer = b""
        worker.ready = False
        worker.started_at = time.monotonic()
        worker.restart_at = None

    def _read_status(self, worker: _Worker) -> None:
        if worker.status_fd is None:
            return
        try:
            while chunk := os.read(worker.status_fd, 65536):
                worker.buffer += chunk
        except BlockingIOError:
            pass
        while b"\n" in worker.buffer:
            line, worker.buffer = worker.buffer.split(b"\n", 1)
            message = json.loads(line)
            if message.get("event") == "ready":
                worker.ready = True
            elif message.get("event") == "error":
                worker.last_error = message.get("message")

    def _close_status(self, worker: _Worker) -> None:
        if worker.status_fd is not None:
            self._read_status(worker)
            os.close(worker.status_fd)
            worker.status_fd = None

    def _wait(self, timeout: float) -> None:
        fds = [w.status_fd for w in self.workers if w.status_fd is not None]
        try:
            readable, _, _ = select.select(fds, [], [], timeout)
        except InterruptedError:
            return
        for worker in self.workers:
            if worker.status_fd in readable:
                self._read_status(worker)

    def _handle_exit(self, worker: _Worker, serving: bool) -> None:
        """A worker exited: restart it with backoff, or give up with its error."""
        assert worker.process is not None
        code = worker.process.returncode
        self._close_status(worker)
        self.board.set(worker.index, ABSENT)
        reason = worker.last_error or f"exited with code {code}"
        if not serving:
            raise StartupError(f"worker {worker.index} failed to start: {reason}")
        up_s = time.monotonic() - worker.started_at
        if worker.ready and up_s > _STABLE_AFTER_S:
            worker.backoff_s = self.config.restart_backoff_s
        delay = worker.backoff_s
        worker.backoff_s = min(delay * 2, _BACKOFF_MAX_S)
        if worker.ready:
            worker.failures = 0
        else:
            worker.failures += 1
            if worker.failures >= MAX_STARTUP_FAILURES:
                raise StartupError(
                    f"worker {worker.index} failed to restart {worker.failures} times in a "
                    f"row, giving up: {reason}"
                )
        worker.restart_at = time.monotonic() + delay
        worker.process = None
        worker.last_error = None
        self.status(
            {
                "event": "worker-exited",
                "worker": worker.index,
                "code": code,
                "restart_in_s": delay,
            }
        )

    def _stop_workers(self) -> None:
        live = [w for w in self.workers if w.process is not None and w.process.poll() is None]
        for worker in live:
            assert worker.process is not None
            worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.config.graceful_timeout_s + 2
        for worker in live:
            assert worker.process is not None
            try:
                worker.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
        for worker in self.workers:
            self._close_status(worker)

    def run(self) -> None:
        """Start every worker, report readiness, then supervise until asked to stop.

        Raises StartupError when the first start fails, or a worker keeps failing to
        restart: a clear error beats a crash loop.
        """
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        serving = False
        try:
            for worker in self.workers:
                self._spawn(worker)
            deadline = time.monotonic() + self.config.startup_timeout_s
            while not self._stopping:
                self._wait(0.1)
                now = time.monotonic()
                for worker in self.workers:
                    if worker.process is not None and worker.process.poll() is not None:
                        self._handle_exit(worker, serving)
                    elif worker.process is None and worker.restart_at and now >= worker.restart_at:
                        self._spawn(worker)
                if not serving:
                    if all(w.ready for w in self.workers):
                        serving = True
                        pids = [w.process.pid for w in self.workers if w.process]
                        self.status(
                            {
                                "event": "ready",
                                "port": self.config.port,
                                "pids": pids,
                                "program": self.config.program,
                            }
                        )
                    elif now > deadline:
                        raise StartupError(
                            f"workers not ready after {self.config.startup_timeout_s:.0f} s"
                        )
            self.status({"event": "stopping"})
        finally:
            self._stop_workers()
            self.board.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.status({"event": "stopped"})


def serve(
    model_data: Path,
    *,
    code_dir: Path | None = None,
    program: str | None = "inference.py",
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 2,
    environment: Mapping[str, str] | None = None,
    execution_parameters: bool = False,
    status: Status,
    **options: Any,
) -> None:
    """Serve ``model_data`` (a model.tar.gz or a model dir) until SIGTERM/SIGINT.

    Blocks. ``status`` receives events: ready (with the port, and the program served),
    worker-exited, stopping, stopped. ``program`` None picks it from the archive
    (:func:`detect_program`). Raises StartupError with a one-line reason if the endpoint
    cannot start.
    """
    if workers < 1:
        raise StartupError(f"workers must be at least 1, got {workers}")
    work_dir = Path(tempfile.mkdtemp(prefix="sagestack-endpoint-"))
    listener: socket.socket | None = None
    try:
        model_dir = prepare_model_dir(model_data, work_dir)
        if program is None:
            program = detect_program(code_dir, model_dir)
        code = resolve_code_dir(code_dir, model_dir, program)
        install_error = offline_install_error(code)
        if install_error is not None:
            raise StartupError(install_error)
        listener = listen_socket(host, port)
        config = ServeConfig(
            model_dir=str(model_dir),
            code_dir=str(code),
            program=program,
            host=host,
            port=listener.getsockname()[1],
            workers=workers,
            environment=dict(environment or {}),
            execution_parameters=execution_parameters,
            **options,
        )
        Supervisor(config, status, listener).run()
    finally:
        if listener is not None:
            listener.close()
        shutil.rmtree(work_dir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m sagestack.serving``: the process LocalEndpoint starts.

    Events go to ``--status-fd`` as JSON lines; a start-up failure is an ``error`` event
    and exit code 2.
    """
    parser = argparse.ArgumentParser(prog="python -m sagestack.serving")
    parser.add_argument("model_data", type=Path)
    parser.add_argument("--options", default="{}", help="JSON keyword arguments for serve()")
    parser.add_argument("--status-fd", type=int, required=True)
    args = parser.parse_args(argv)
    options = json.loads(args.options)
    if options.get("code_dir"):
        options["code_dir"] = Path(options["code_dir"])

    def report(event: dict[str, Any]) -> None:
        os.write(args.status_fd, (json.dumps(event) + "\n").encode())

    try:
        serve(args.model_data, status=report, **options)
    except StartupError as exc:
        report({"event": "error", "message": str(exc)})
        return 2
    return 0
