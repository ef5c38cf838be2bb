"""Console: page latency with 500 jobs in the store, incremental log reads, idle CPU.

The store is laid out as the CLI leaves it (job dirs with a 100-round log and a
model.tar.gz), then ``sagestack console`` runs
in its own process and is asked over HTTP, as a browser would. Baselines, measured in the
same run against the same process: a static file (the server's own floor) for page latency,
a poll at the end of a small log for the poll at the end of a large one, and the console
with no page open for its CPU with one page open.
"""

from __future__ import annotations

import functools
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import OUT, Row, log, median, python_env

JOBS = 500
ROUNDS = 100
BIG_LOG_MB = 64
LATENCY_SAMPLES = 60
IDLE_S = 20.0
SECTION = "Console"


def _round_line(index: int) -> str:
    loss = 0.69 * 0.97**index
    return f"[{index}]\ttrain-logloss:{loss:.5f}\tvalidation-logloss:{loss * 1.1:.5f}\n"


def build_store(root: Path) -> None:
    """500 finished jobs (CLI-style), one running one with a large log, one small running one."""
    state = root / ".sagestack"
    log_text = "".join(_round_line(i) for i in range(ROUNDS))
    for index in range(JOBS):
        name = f"bench-job-{index:03d}"
        job = state / "jobs" / name
        (job / "logs").mkdir(parents=True, exist_ok=True)
        (job / "logs" / "algo-1.log").write_text(log_text, encoding="utf-8")
        (job / "input" / "config").mkdir(parents=True, exist_ok=True)
        (job / "input" / "config" / "hyperparameters.json").write_text(
            json.dumps({"objective": "binary:logistic", "num_round": str(ROUNDS)})
        )
        (job / "input" / "config" / "inputdataconfig.json").write_text(
            json.dumps({"train": {"ContentType": "text/csv"}})
        )
        artifacts = state / "artifacts" / name / "output"
        artifacts.mkdir(parents=True, exist_ok=True)
        (artifacts / "model.tar.gz").write_bytes(b"\0" * 1024)
    for name, size in (("bench-running-big", BIG_LOG_MB << 20), ("bench-running-small", 4096)):
        job = state / "jobs" / name
        (job / "logs").mkdir(parents=True, exist_ok=True)
        line = _round_line(1).encode()
        with (job / "logs" / "algo-1.log").open("wb") as handle:
            handle.write(line * (size // len(line)))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def console(root: Path) -> Iterator[tuple[int, int]]:
    """``sagestack console`` in ``root``: (port, pid), stopped afterwards."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sagestack.cli", "console", "--port", str(port)],
        cwd=root,
        env=python_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the console did not start")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _get(port: int, path: str) -> tuple[float, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"GET {path} answered {response.status}")
    return elapsed * 1000, body


def _latencies(port: int, path: str) -> list[float]:
    _get(port, path)  # warm: templates compiled, caches filled, as after the first view
    return [_get(port, path)[0] for _ in range(LATENCY_SAMPLES)]


def _read_bytes(pid: int) -> int:
    """rchar of the console process: every byte its read() calls returned."""
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("rchar:"):
            return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/PID/io")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_over(pid: int, seconds: float) -> float:
    """CPU % of one core the process used over ``seconds`` of wall time."""
    before = _cpu_s(pid)
    time.sleep(seconds)
    return 100.0 * (_cpu_s(pid) - before) / seconds


def _pages(port: int) -> list[Row]:
    static = _latencies(port, "/static/console.css")
    rows = []
    for label, path in (
        (f"jobs list, {JOBS + 2} jobs in the store", "/training-jobs"),
        ("a job's detail page (100 rounds: curves, log, config)", "/training-jobs/bench-job-250"),
    ):
        samples = _latencies(port, path)
        value = median(samples)
        p95 = sorted(samples)[int(len(samples) * 0.95) - 1]
        rows.append(
            Row(
                SECTION,
                label,
                value,
                "ms",
                baseline=median(static),
                baseline_name="a static file from the same server",
                target="< 100 ms",
                ok=p95 < 100,
                note=f"p95 {p95:.1f} ms, max {max(samples):.1f} ms, {len(samples)} requests",
                samples=samples,
            )
        )
    return rows


def _log_polls(port: int, pid: int, root: Path) -> list[Row]:
    rows = []
    measured = {}
    for name in ("bench-running-small", "bench-running-big"):
        size = (root / ".sagestack/jobs" / name / "logs/algo-1.log").stat().st_size
        path = f"/training-jobs/{name}/log?offset={size}"
        _get(port, path)
        before = _read_bytes(pid)
        samples = [_get(port, path)[0] for _ in range(LATENCY_SAMPLES)]
        per_poll = (_read_bytes(pid) - before) / LATENCY_SAMPLES
        measured[name] = (median(samples), per_poll, size)
    small, big = measured["bench-running-small"], measured["bench-running-big"]
    rows.append(
        Row(
            SECTION,
            f"live-log poll at the end of a {BIG_LOG_MB} MiB log",
            big[0],
            "ms",
            baseline=small[0],
            baseline_name="the same poll at the end of a 4 KiB log",
            target="~1x (incremental)",
            ok=big[0] < 2 * small[0] + 5,
            note=f"bytes read by the console per poll: {big[1]:,.0f} (4 KiB log: {small[1]:,.0f})",
        )
    )
    rows.append(
        Row(
            SECTION,
            f"bytes read per live-log poll, {BIG_LOG_MB} MiB log",
            big[1],
            "B",
            baseline=float(big[2]),
            baseline_name="the whole log's size",
            target="far below the log's size",
            ok=big[1] < big[2] / 100,
            note="rchar of the console process (/proc/PID/io) over the polls",
        )
    )
    return rows


def _record_job_request(seen: list[str], request: Any) -> None:
    if "/training-jobs/" in request.url:
        seen.append(request.url)


def _idle_cpu(port: int, pid: int, root: Path) -> list[Row]:
    from playwright.sync_api import sync_playwright

    nothing_open = _cpu_over(pid, IDLE_S)
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        for label, job, polling in (
            ("a finished job's page", "bench-job-250", False),
            ("a running job's page (polls status and log every 1 s)", "bench-running-big", True),
        ):
            if polling:  # a job counts as running while its log is fresh: freshen it now
                os.utime(root / ".sagestack/jobs" / job / "logs/algo-1.log")
            page = browser.new_page()
            polls: list[str] = []
            page.on("request", functools.partial(_record_job_request, polls))
            page.goto(f"http://127.0.0.1:{port}/training-jobs/{job}")
            time.sleep(2)
            polls.clear()
            value = _cpu_over(pid, IDLE_S)
            page.close()
            polled_enough = len(polls) >= IDLE_S / 2 if polling else True
            rows.append(
                Row(
                    SECTION,
                    f"console CPU with one page open: {label}",
                    value,
                    "% of a core",
                    baseline=nothing_open,
                    baseline_name="the console with no page open",
                    target="near zero (< 2 %)",
                    ok=value < 2.0 and polled_enough,
                    note=f"over {IDLE_S:.0f} s, utime+stime from /proc/PID/stat; "
                    f"{len(polls)} page requests in that time",
                )
            )
        browser.close()
    return rows


def run(repeats: int = 1) -> list[Row]:
    root = OUT / "console"
    if not (root / ".sagestack/jobs" / f"bench-job-{JOBS - 1:03d}").is_dir():
        log(f"console: writing {JOBS} jobs")
        build_store(root)
    for name in ("bench-running-big", "bench-running-small"):  # running: log just written
        os.utime(root / ".sagestack/jobs" / name / "logs/algo-1.log")
    rows: list[Row] = []
    with console(root) as (port, pid):
        log("console: page latency")
        rows += _pages(port)
        log("console: live-log polls")
        rows += _log_polls(port, pid, root)
        log("console: idle CPU")
        rows += _idle_cpu(port, pid, root)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row.metric, f"{row.value:.3g} {row.unit}", row.baseline, row.ratio, row.ok, row.note)
