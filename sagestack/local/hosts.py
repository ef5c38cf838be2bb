"""The host processes of one local training job: their output, their stopping, their supervision.

Each host runs in its own session (process group), as each SageMaker host is its own container,
so stopping a job signals whole groups: SIGTERM, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sagestack.local.display import JobDisplay
from sagestack.local.jobdir import HostDir
from sagestack.local.logs import LogMonitor

TAIL_LINES = 20
_STOP_GRACE_S = 5.0


@dataclass
class HostRun:
    host_dir: HostDir
    command: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path
    tail: list[str] = field(default_factory=list)


def _pump(run: HostRun, lines: queue.Queue[tuple[str, str | None]]) -> None:
    """Copy one host's output to its log file and the shared queue, line by line."""
    stream = run.process.stdout
    assert stream is not None
    with run.log_path.open("w", encoding="utf-8") as log:
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", errors="replace")
            log.write(text)
            log.flush()
            lines.put((run.host_dir.host, text))
    lines.put((run.host_dir.host, None))


def _stop(runs: Sequence[HostRun]) -> None:
    """SIGTERM every live host, SIGKILL what is left after a grace period (as SageMaker)."""
    live = [r for r in runs if r.process.poll() is None]
    for run in live:
        _signal_group(run.process, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_GRACE_S
    for run in live:
        try:
            run.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(run.process, signal.SIGKILL)
            run.process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while a job runs, so the hosts (in their own sessions) are
    stopped rather than orphaned when this process is asked to stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def supervise(
    runs: Sequence[HostRun],
    monitor: LogMonitor,
    display: JobDisplay | None,
    max_runtime_s: float | None,
    started: float,
) -> str | None:
    """Stream every host's log until all exit; returns why the job was stopped, if it was.

    One failed host fails the job, so the others are stopped rather than left waiting for
    it in a collective (SageMaker does the same).
    """
    lines: queue.Queue[tuple[str, str | None]] = queue.Queue()
    by_host = {run.host_dir.host: run for run in runs}
    master = runs[0].host_dir.host
    for run in runs:
        threading.Thread(target=_pump, args=(run, lines), daemon=True).start()
    multi = len(runs) > 1
    open_streams = len(runs)
    stopped_reason: str | None = None
    with _terminate_as_interrupt(), display if display is not None else nullcontext():
        if display is not None:
            display.line(f"$ {shlex.join(runs[0].command)}", host=None)
        try:
            while open_streams:
                try:
                    host, text = lines.get(timeout=0.2)
                except queue.Empty:
                    host, text = "", None
                else:
                    if text is None:
                        open_streams -= 1
                        continue
                    run = by_host[host]
                    run.tail = (run.tail + [text])[-TAIL_LINES:]
                    advanced = monitor.feed(text) if host == master else False
                    if display is not None:
                        display.line(text, host if multi else None)
                        if advanced:
                            display.rounds(monitor.rounds_done)
                if stopped_reason is None:
                    if max_runtime_s is not None and time.monotonic() - started > max_runtime_s:
                        stopped_reason = f"MaxRuntimeExceeded: the job ran over {max_runtime_s} s"
                        _stop(runs)
                    elif any(r.process.poll() not in (None, 0) for r in runs) and any(
                        r.process.poll() is None for r in runs
                    ):
                        _stop(runs)
        except KeyboardInterrupt:
            _stop(runs)
            raise
        for run in runs:
            run.process.wait()
        if display is not None:
            display.finish(monitor.rounds_done)
    return stopped_reason
