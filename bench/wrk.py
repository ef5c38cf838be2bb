"""The load generator: wrk (Debian package), driven by a generated Lua script.

wrk rather than a Python client because a Python client on the same two cores would be the
bottleneck long before the server. The Lua `done` hook prints one JSON line with the counts
and latency percentiles, so nothing parses wrk's human-readable summary.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.common import log

_INSTALL_HINT = "install it with `apt-get install -y wrk` (Debian/Ubuntu) and rerun"

_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "{content_type}"
wrk.headers["Accept"] = "{accept}"
local f = assert(io.open("{body_path}", "rb"))
wrk.body = f:read("*a")
f:close()

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{{"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
"""


class WrkMissing(RuntimeError):
    """wrk is not installed and could not be installed."""


def ensure_wrk() -> str:
    """Path to wrk, installing the Debian package when possible (root + apt-get)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk not found; installing the Debian package")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
            subprocess.run(install, env=env, capture_output=True)
        found = shutil.which("wrk")
        if found:
            return found
    raise WrkMissing(f"wrk is not installed; {_INSTALL_HINT}")


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def run_wrk(
    url: str,
    *,
    body_path: Path,
    content_type: str,
    accept: str,
    connections: int,
    duration_s: float,
    script_dir: Path,
    threads: int = 1,
) -> WrkResult:
    """One bounded load point. One wrk thread: it shares the two cores with the server, and
    one epoll thread keeps 8 connections busy without stealing a core from a worker."""
    wrk = ensure_wrk()
    script_dir.mkdir(parents=True, exist_ok=True)
    script = script_dir / f"{body_path.stem}.lua"
    script.write_text(
        _LUA.format(content_type=content_type, accept=accept, body_path=body_path),
        encoding="utf-8",
    )
    command = [
        wrk,
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration_s + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("{")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    data = json.loads(line)
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        errors=errors,
        p50_ms=data["p50_us"] / 1e3,
        p90_ms=data["p90_us"] / 1e3,
        p99_ms=data["p99_us"] / 1e3,
    )
