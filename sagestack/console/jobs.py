"""Starts and stops console training jobs: a record, then a detached runner process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from sagestack.console import store


def start_job(request: dict[str, Any]) -> None:
    """Write the job's record and start ``sagestack.console.runner`` for it, detached.

    The record is written first, so the job is listed (Starting) before its process runs, and
    a name is taken the moment the form is accepted.
    """
    name = request["job_name"]
    record = dict(request, status=store.IN_PROGRESS, created=time.time())
    record["timeline"] = [{"status": "Starting", "time": record["created"]}]
    store.write_json(store.record_path(name), record)
    log = store.records_dir() / f"{name}.runner.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "sagestack.console.runner", name],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives the console; Stop signals it alone
            cwd=os.getcwd(),
        )
    record["runner_pid"] = process.pid
    current = store.read_json(store.record_path(name)) or record
    current["runner_pid"] = process.pid
    store.write_json(store.record_path(name), current)
    _reap_later(process)


def _reap_later(process: subprocess.Popen[bytes]) -> None:
    """Collect the runner's exit status when it ends, so it leaves no zombie behind."""
    import threading

    threading.Thread(target=process.wait, daemon=True).start()


def stop_job(name: str) -> bool:
    """SIGTERM the runner (it stops the hosts and records Stopped); False if not running."""
    record = store.read_json(store.record_path(name))
    if record is None or record.get("status") != store.IN_PROGRESS:
        return False
    pid = record.get("runner_pid")
    if not isinstance(pid, int) or not store.pid_alive(pid):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True
