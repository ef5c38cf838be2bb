"""Waiting in tests on a signal (a file, a process state, an answer), never on a guessed delay."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_s: float, what: str, poll_s: float = 0.02) -> T:
    """The condition's first truthy value, polled every `poll_s`; fails naming `what` if
    `timeout_s` passes first. The timeout is a ceiling for a stuck test, not a guess at timing."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)


def process_gone(pid: int) -> bool:
    """Whether `pid` has exited (no such process, or a zombie not yet reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] in ("Z", "X")
    except OSError:
        return True


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running(process: subprocess.Popen[Any], up: Callable[[], bool], what: str) -> Iterator[None]:
    """The block runs once ``up()`` holds (waited for, naming ``what``); after it, or if it never
    holds, ``process`` is terminated and reaped."""
    try:
        wait_until(up, 30, what)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
