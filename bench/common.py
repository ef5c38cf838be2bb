"""Shared pieces: paths, medians, the result row, and timed subprocesses with their peak RSS."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
OUT = BENCH / "out"  # gitignored: data sets, models, job dirs, raw logs


def log(message: str) -> None:
    """Progress on stderr, so a long run shows where it is."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


@dataclass
class Row:
    """One line of RESULTS.md: a measured value, its same-run baseline and the ratio.

    ok is whether the target is met (None: no target).
    """

    section: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""
    samples: list[float] = field(default_factory=list)
    paired_ratio: float | None = None  # median of per-round ratios, when rounds pair up
    ratio_target: bool = False  # the target is on the ratio (the chart colours those bars)

    @property
    def ratio(self) -> float | None:
        """The median of per-round ratios if known (a slow minute hits both sides of a pair),
        else the ratio of the medians."""
        if self.paired_ratio is not None:
            return self.paired_ratio
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]


@dataclass
class ProcessRun:
    """One fresh process: wall time seen from outside, its peak RSS (with its descendants')
    and whatever JSON it printed on its last stdout line."""

    wall_s: float
    max_rss_mb: float
    report: dict
    returncode: int


def run_process(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 900,
) -> ProcessRun:
    """Run argv to completion in a fresh process and wait4() it for its rusage.

    Linux's wait4 reports ru_maxrss as the larger of the child's own peak and the peaks of the
    descendants it reaped, so a runtime that forks the training script is measured whole.
    """
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=OUT) as out, tempfile.TemporaryFile(dir=OUT) as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), env=dict(env) if env is not None else None, cwd=cwd, stdout=out, stderr=err
        )
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        command = " ".join(argv[:4])
        raise RuntimeError(f"{command} ... exited {process.returncode}:\n{stderr[-3000:]}")
    report: dict = {}
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            report = json.loads(line)
            break
    return ProcessRun(wall, usage.ru_maxrss / 1024, report, process.returncode)


def python_env(**extra: str) -> dict[str, str]:
    """This environment plus the repo on sys.path (the bench runs from the repo root)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env
