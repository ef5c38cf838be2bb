"""Local endpoints from the console: deploy a job's model, list, delete, test inference.

An endpoint is the same server the SDK's ``deploy()`` and ``sagestack serve`` start
(:func:`sagestack.serving.endpoint.start_local_endpoint`), recorded in the same directory
(``.sagestack/endpoints/<name>.json``) so ``sagestack status --local`` lists it. A small host
process (``python -m sagestack.console.endpoints NAME``) starts it and holds its status pipe
for as long as it runs, so it outlives a console restart.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagestack.console import jobs, store

# The SDK's directory of endpoint records, which `sagestack status --local` lists too.
from sagestack.sdk.backends.local import endpoints_dir

CREATING = "Creating"
IN_SERVICE = "InService"
FAILED = "Failed"
DELETED = "Deleted"
_POLL_S = 1.0


def record_path(name: str) -> Path:
    return endpoints_dir() / f"{name}.json"


def endpoint_status(record: dict[str, Any]) -> str:
    """Deleted / Creating / InService, or Failed when the process behind it is gone."""
    status = record.get("status")
    if status in (DELETED, FAILED):
        return str(status)
    if status == CREATING:
        return CREATING if store.pid_alive(record.get("host_pid")) else FAILED
    return IN_SERVICE if store.pid_alive(record.get("pid")) else FAILED


@dataclass
class EndpointRow:
    name: str
    status: str
    record: dict[str, Any]


def list_endpoints() -> list[EndpointRow]:
    rows = []
    try:
        files = sorted(
            endpoints_dir().glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True
        )
    except OSError:
        return []
    for path in files:
        record = store.read_json(path)
        if record is None or "name" not in record:
            continue
        rows.append(EndpointRow(str(record["name"]), endpoint_status(record), record))
    return rows


def get_endpoint(name: str) -> EndpointRow | None:
    record = store.read_json(record_path(name))
    if record is None:
        return None
    return EndpointRow(name, endpoint_status(record), record)


def deploy(endpoint_name: str, job_name: str, model_tar: Path, workers: int) -> None:
    """Record the Model, EndpointConfig and Endpoint, then start the host process."""
    record = {
        "name": endpoint_name,
        "status": CREATING,
        "job": job_name,
        "model_name": f"{endpoint_name}-model",
        "endpoint_config_name": f"{endpoint_name}-config",
        "model": (jobs.job_request(job_name).get("model") or {}).get(
            "class", "sagestack.sdk.xgboost_model.XGBoostModel"
        ),
        "artifacts": model_tar.resolve().as_uri(),
        "model_tar": str(model_tar.resolve()),
        "workers": workers,
        "created": time.time(),
        "log": str(endpoints_dir() / f"{endpoint_name}.log"),
    }
    store.write_json(record_path(endpoint_name), record)
    process = subprocess.Popen(
        [sys.executable, "-m", "sagestack.console.endpoints", endpoint_name],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        cwd=os.getcwd(),
    )
    _update(endpoint_name, host_pid=process.pid)
    import threading

    threading.Thread(target=process.wait, daemon=True).start()


def _update(name: str, **changes: Any) -> None:
    record = store.read_json(record_path(name)) or {"name": name}
    record.update(changes)
    store.write_json(record_path(name), record)


def delete(name: str, timeout_s: float = 15.0) -> bool:
    """Stop the server (SIGTERM: in-flight requests finish) and mark the endpoint Deleted."""
    row = get_endpoint(name)
    if row is None:
        return False
    pid = row.record.get("pid")
    if row.status == IN_SERVICE and pid:
        with suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while store.pid_alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if store.pid_alive(int(pid)):
            os.killpg(int(pid), signal.SIGKILL)
    _update(name, status=DELETED, deleted=time.time())
    return True


@dataclass
class TestResult:
    status: int | None
    content_type: str | None
    body: str
    latency_ms: float
    error: str | None = None


def invoke(url: str, body: bytes, content_type: str, accept: str) -> TestResult:
    from sagestack.serving.client import invoke_http

    started = time.perf_counter()
    try:
        result = invoke_http(url, body, content_type=content_type, accept=accept or None)
    except Exception as exc:  # refused, reset, timeout: shown in the form, never raised
        elapsed = (time.perf_counter() - started) * 1000
        return TestResult(None, None, "", elapsed, f"{type(exc).__name__}: {exc}")
    elapsed = (time.perf_counter() - started) * 1000
    text = result.body.decode("utf-8", "replace")
    return TestResult(result.status, result.content_type, text, elapsed)


def host(name: str) -> int:
    """Start the endpoint for a Creating record and hold its status pipe until it exits."""
    from sagestack.serving.endpoint import start_local_endpoint
    from sagestack.serving.supervisor import StartupError

    record = store.read_json(record_path(name))
    if record is None:
        return 2
    log_path = Path(record["log"])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        try:
            endpoint = start_local_endpoint(
                record["model_tar"],
                port=0,
                workers=int(record.get("workers", 1)),
                code_dir=None,  # the archive's code/ (a custom Model's), else inference/
                program=None,  # sagestack_serve.py for a custom Model's archive, else inference.py
                log=log,
            )
        except (StartupError, OSError) as exc:
            _update(name, status=FAILED, failure_reason=str(exc))
            return 1
    _update(name, status=IN_SERVICE, url=endpoint.url, pid=endpoint.pid, owner_pid=os.getpid())
    while endpoint.running():
        endpoint.errors()  # drain the pipe so the server never blocks on it
        time.sleep(_POLL_S)
    errors = endpoint.errors()
    current = store.read_json(record_path(name)) or {}
    if current.get("status") != DELETED:
        reason = errors[-1] if errors else f"the server exited with code {endpoint.wait()}"
        _update(name, status=FAILED, failure_reason=reason)
    return 0


if __name__ == "__main__":
    sys.exit(host(sys.argv[1]))
