"""Waiting in tests on a signal (a file, a process state, an answer), never on a guessed delay."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
