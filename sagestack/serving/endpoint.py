"""A local endpoint running in the background, for the SDK, the demo and tests."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from sagestack.serving.supervisor import StartupError


class LocalEndpoint:
    """Handle on a running supervisor process; stop it with :meth:`stop` or a ``with`` block.

    ``url`` is the container-style base (``/ping``, ``/invocations``); pass ``url`` as
    ``endpoint_url`` to boto3's sagemaker-runtime client, with any ``endpoint_name``.
    """

    def __init__(
        self, process: subprocess.Popen[bytes], status_fd: int, host: str, port: int
    ) -> None:
        self.process = process
        self.host = host
        self.port = port
        self._status_fd = status_fd
        self._buffer = bytearray()
        self._errors: list[str] = []

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def invocations_url(self) -> str:
        return f"{self.url}/invocations"

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """Current worker process ids (children of the supervisor)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        try:
            return [int(p) for p in path.read_text().split()]
        except OSError:
            return []

    def running(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout_s: float | None = None) -> int:
        """Wait for the server to exit by itself (e.g. after giving up on a crashing worker)."""
        return self.process.wait(timeout=timeout_s)

    def errors(self) -> list[str]:
        """Error messages the server has reported so far (why it gave up, if it did)."""
        if self._status_fd < 0:
            return list(self._errors)
        while True:
            events = _read_events(self._status_fd, self._buffer, 0)
            if not events:
                break
            for event in events:
                if event["event"] == "error":
                    self._errors.append(event["message"])
            if events[-1]["event"] == "eof":
                break
        return list(self._errors)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (graceful: in-flight requests finish), SIGKILL the group after timeout."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._status_fd >= 0:
            self.errors()
            os.close(self._status_fd)
            self._status_fd = -1
        return self.process.returncode

    def __enter__(self) -> LocalEndpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _read_events(fd: int, buffer: bytearray, timeout_s: float) -> list[dict[str, Any]]:
    readable, _, _ = select.select([fd], [], [], timeout_s)
    if not readable:
        return []
    chunk = os.read(fd, 65536)
    if not chunk:
        return [{"event": "eof"}]
    buffer.extend(chunk)
    events = []
    while b"\n" in buffer:
        index = buffer.index(b"\n")
        events.append(json.loads(bytes(buffer[:index])))
        del buffer[: index + 1]
    return events


def start_local_endpoint(
    model_data: str | Path,
    *,
    port: int = 0,
    workers: int = 2,
    code_dir: str | Path | None = None,
    program: str | None = "inference.py",
    environment: Mapping[str, str] | None = None,
    execution_parameters: bool = False,
    host: str = "127.0.0.1",
    startup_timeout_s: float = 120.0,
    log: IO[bytes] | int | None = None,
    **config: Any,
) -> LocalEndpoint:
    """Start serving ``model_data`` (model.tar.gz or a model dir) and wait until it is ready.

    port: 0 picks a free port (read it from ``.port``).
    code_dir: the inference module's dir; default ``code/`` in the archive, else the
        repository's ``inference/``.
    program: SAGEMAKER_PROGRAM; None picks it from the archive (a custom Model's archive is
        served by sagestack_serve.py).
    log: where the server's and workers' output goes (default: inherited).
    config: further :class:`ServeConfig` fields (graceful_timeout_s, restart_backoff_s...).

    Raises StartupError with the server's reason (corrupt archive, import error, model_fn
    failure, busy port) if it does not become ready.
    """
    options: dict[str, Any] = {
        "port": port,
        "workers": workers,
        "code_dir": str(code_dir) if code_dir is not None else None,
        "program": program,
        "environment": dict(environment or {}),
        "execution_parameters": execution_parameters,
        "host": host,
        "startup_timeout_s": startup_timeout_s,
        **config,
    }
    read_fd, write_fd = os.pipe()
    try:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sagestack.serving",
                str(Path(model_data).resolve()),
                "--options",
                json.dumps(options),
                "--status-fd",
                str(write_fd),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log is not None else None,
            pass_fds=(write_fd,),
            start_new_session=True,
        )
    finally:
        os.close(write_fd)

    buffer = bytearray()
    deadline = time.monotonic() + startup_timeout_s + 10
    while time.monotonic() < deadline:
        for event in _read_events(read_fd, buffer, 0.2):
            if event["event"] == "ready":
                return LocalEndpoint(process, read_fd, host, int(event["port"]))
            if event["event"] in ("error", "eof"):
                process.wait(timeout=30)
                os.close(read_fd)
                message = event.get("message") or f"server exited with code {process.returncode}"
                raise StartupError(message)
    endpoint = LocalEndpoint(process, read_fd, host, port)
    endpoint.stop()
    raise StartupError(f"endpoint not ready after {startup_timeout_s:.0f} s")
