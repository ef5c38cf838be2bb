"""Console training jobs: start (a record, then a detached runner), stop, and their requests."""

from __future__ import annotations

import os
import secrets
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


def job_request(name: str) -> dict[str, Any]:
    """What a job was created with: the console's record, else rebuilt from its job dir."""
    record = store.read_json(store.record_path(name))
    if record is not None:
        return record
    config = store.job_config(name)
    job_dir = store.jobs_dir() / name
    data_root = job_dir / "input" / "data"
    if not data_root.is_dir():
        data_root = job_dir / "algo-1" / "input" / "data"
    channels = {
        channel: {"path": str(data_root / channel), "content_type": cfg.get("ContentType")}
        for channel, cfg in config["input_data_config"].items()
        if channel not in ("code", "sm_drivers")
    }
    hps = {
        k: v for k, v in config["hyperparameters"].items() if not k.startswith(("sagemaker_", "_"))
    }
    hosts = config["resource_config"].get("hosts") or ["algo-1"]
    return {
        "job_name": name,
        "channels": channels,
        "hyperparameters": hps,
        "instance_count": len(hosts),
        "max_runtime_s": None,
    }


def next_name(name: str) -> str:
    """A free name for a clone of job ``name``: ``name-2``, ``name-3``, ..."""
    base = name[:56]
    for index in range(2, 1000):
        candidate = f"{base}-{index}"
        if not store.job_exists(candidate):
            return candidate
    return f"{base}-{secrets.token_hex(2)}"
