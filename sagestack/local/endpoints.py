"""Records of this checkout's local endpoints, whoever started them: list, stop, prune.

A local endpoint behaves like a SageMaker one: it outlives the Python process (or terminal)
that created it, until ``Predictor.delete()``, ``sagestack stop NAME`` or Ctrl-C in the
``sagestack serve`` that runs it. One JSON file per endpoint under ``.sagestack/endpoints/``
says which process serves it, so any shell can find and stop it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagestack import paths


def endpoints_dir() -> Path:
    """Where running local endpoints are recorded (``sagestack status --local`` reads it)."""
    return paths.default_state_dir() / "endpoints"


@dataclass(frozen=True)
class EndpointRecord:
    """One local endpoint as recorded when it became ready."""

    name: str
    pid: int
    url: str
    model: str
    started_by: str
    path: Path
    log: str = ""

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[-1]) if ":" in self.url else 0

    def alive(self) -> bool:
        return process_alive(self.pid)


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs a sagestack server; a zombie or a reused pid counts as gone."""
    if pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state not in ("Z", "X") and b"sagestack" in command


def write_record(
    name: str, *, pid: int, url: str, model: str, started_by: str, log: str = ""
) -> Path:
    directory = endpoints_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    data: dict[str, Any] = {
        "name": name,
        "pid": pid,
        "url": url,
        "model": model,
        "started_by": started_by,
        "log": log,
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def read_records() -> list[EndpointRecord]:
    records = []
    for path in sorted(endpoints_dir().glob("*.json")):
        try:
            data = json.loads(path.read_text())
            records.append(
                EndpointRecord(
                    name=str(data["name"]),
                    pid=int(data.get("pid", 0)),
                    url=str(data.get("url", "")),
                    model=str(data.get("model") or data.get("artifacts") or ""),
                    started_by=str(data.get("started_by", "SDK deploy()")),
                    path=path,
                    log=str(data.get("log", "")),
                )
            )
        except (OSError, ValueError, KeyError):
            continue  # half-written or foreign file: not an endpoint record
    return records


def find(name: str) -> EndpointRecord | None:
    return next((r for r in read_records() if r.name == name), None)


def stop(record: EndpointRecord, timeout_s: float = 30.0) -> bool:
    """SIGTERM (in-flight requests finish), SIGKILL after ``timeout_s``; drop the record.

    False if the process was already gone.
    """
    was_alive = record.alive()
    if was_alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while record.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if record.alive():
            with contextlib.suppress(ProcessLookupError):
                # SDK endpoints lead their own process group (the workers are in it).
                if os.getpgid(record.pid) == record.pid:
                    os.killpg(record.pid, signal.SIGKILL)
                else:
                    os.kill(record.pid, signal.SIGKILL)
    record.path.unlink(missing_ok=True)
    return was_alive


def prune() -> list[EndpointRecord]:
    """Drop the records of endpoints whose process is gone; the records dropped."""
    gone = [record for record in read_records() if not record.alive()]
    for record in gone:
        record.path.unlink(missing_ok=True)
    return gone
