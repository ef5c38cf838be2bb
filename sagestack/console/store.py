"""Reads the local job store (.sagestack/) the CLI, the SDK and the console all write."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sagestack import paths
from sagestack.local.logs import parse_eval_line

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
STOPPED = "Stopped"
# A job with no record, no artifacts and a log untouched this long is taken as stopped.
_STALE_LOG_S = 120.0
_TAIL_BYTES = 16384


def state_dir() -> Path:
    return paths.default_state_dir()


def jobs_dir() -> Path:
    return state_dir() / "jobs"


def artifacts_dir(name: str) -> Path:
    return state_dir() / "artifacts" / name / "output"


def records_dir() -> Path:
    """The console's own record of each job it started (request, runner pid, timeline)."""
    return state_dir() / "console" / "jobs"


def data_dir() -> Path:
    """The data store: uploads and prepared channels, nowhere else."""
    return state_dir() / "data"


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def write_json(path: Path, value: dict[str, Any]) -> None:
    """Atomic, so a reader never sees half a record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def pid_alive(pid: int | None) -> bool:
    """Whether a process runs (a zombie, exited but not yet reaped, does not)."""
    if not pid:
        return False
    try:
        with open(f"/proc/{int(pid)}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError, ValueError):
        return False


def record_path(name: str) -> Path:
    return records_dir() / f"{name}.json"


def log_path(name: str, host: str = "algo-1") -> Path:
    return jobs_dir() / name / "logs" / f"{host}.log"


@dataclass
class JobSummary:
    """One row of the Training jobs list: what ListTrainingJobs plus a final metric show."""

    name: str
    status: str
    secondary_status: str
    created: float
    ended: float | None
    final_metric: tuple[str, float] | None = None
    failure_reason: str | None = None
    record: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def duration_s(self) -> float | None:
        end = self.ended if self.ended is not None else time.time()
        return max(0.0, end - self.created) if self.created else None


# (path, size, mtime) -> parsed value; completed logs never change, so this is a cheap cache.
_tail_cache: dict[Path, tuple[int, float, Any]] = {}


def _last_eval(path: Path) -> dict[str, float] | None:
    """The last evaluation line's metrics, from the log's tail only."""
    try:
        st = path.stat()
    except OSError:
        return None
    hit = _tail_cache.get(path)
    if hit is not None and hit[0] == st.st_size and hit[1] == st.st_mtime:
        return hit[2]  # type: ignore[no-any-return]
    found: dict[str, float] | None = None
    with path.open("rb") as handle:
        handle.seek(max(0, st.st_size - _TAIL_BYTES))
        for raw in handle.read().decode("utf-8", "replace").splitlines():
            parsed = parse_eval_line(raw)
            if parsed is not None and parsed[1]:
                found = parsed[1]
    _tail_cache[path] = (st.st_size, st.st_mtime, found)
    return found


def pick_final_metric(metrics: dict[str, float] | None) -> tuple[str, float] | None:
    """The validation metric SageMaker's list would show (else the train one)."""
    if not metrics:
        return None
    for prefix in ("validation:", "train:"):
        for key, value in metrics.items():
            if key.startswith(prefix):
                return key, value
    key = next(iter(metrics))
    return key, metrics[key]


def _failure_text(job_dir: Path) -> str | None:
    for candidate in (job_dir / "output" / "failure", job_dir / "algo-1" / "output" / "failure"):
        try:
            return candidate.read_text(encoding="utf-8", errors="replace").strip()[:1024]
        except OSError:
            continue
    return None


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def summarize(name: str, job_dir: Path | None = None) -> JobSummary | None:
    """Status of one job, from the console's record when there is one, else from its files."""
    job_dir = job_dir or jobs_dir() / name
    record = read_json(record_path(name))
    if record is not None:
        return _from_record(name, job_dir, record)
    created = _mtime(job_dir)
    if created is None:
        return None
    logs = job_dir / "logs"
    created = _mtime(logs) or created
    model = artifacts_dir(name) / "model.tar.gz"
    output = artifacts_dir(name) / "output.tar.gz"
    log = logs / "algo-1.log"
    metric = pick_final_metric(_last_eval(log))
    model_time = _mtime(model)
    if model_time is not None:
        return JobSummary(name, COMPLETED, COMPLETED, created, model_time, metric)
    failure = _failure_text(job_dir)
    if failure:
        ended = _mtime(output) or _mtime(log)
        return JobSummary(name, FAILED, FAILED, created, ended, metric, failure)
    output_time = _mtime(output)
    if output_time is not None:
        return JobSummary(name, STOPPED, STOPPED, created, output_time, metric)
    last = _mtime(log) or created
    if time.time() - last > _STALE_LOG_S:
        return JobSummary(name, STOPPED, STOPPED, created, last, metric, "no activity; stopped?")
    secondary = "Training" if log.exists() else "Downloading"
    return JobSummary(name, IN_PROGRESS, secondary, created, None, metric)


def _from_record(name: str, job_dir: Path, record: dict[str, Any]) -> JobSummary:
    status = str(record.get("status", IN_PROGRESS))
    timeline = record.get("timeline") or []
    secondary = timeline[-1]["status"] if timeline else "Starting"
    failure = record.get("failure_reason")
    ended = record.get("ended")
    if status == IN_PROGRESS and not pid_alive(record.get("runner_pid")):
        # The runner died without writing an end (killed, machine rebooted).
        status = secondary = FAILED
        failure = failure or "The job's runner process exited without recording a result."
        ended = _mtime(record_path(name))
    metrics = record.get("metrics")
    if not metrics and status != IN_PROGRESS or status == IN_PROGRESS:
        metrics = _last_eval(job_dir / "logs" / "algo-1.log")
    return JobSummary(
        name,
        status,
        secondary,
        float(record.get("created", 0.0)),
        ended,
        pick_final_metric(metrics),
        failure,
        record,
    )


def job_names() -> list[str]:
    """Every job in the store, newest first: the job dirs plus console jobs not yet laid out."""
    seen: dict[str, float] = {}
    for root in (jobs_dir(), records_dir()):
        try:
            entries: Iterator[os.DirEntry[str]] = os.scandir(root)
        except OSError:
            continue
        with entries as it:  # type: ignore[attr-defined]
            for entry in it:
                name = entry.name
                if root == records_dir():
                    if not name.endswith(".json"):
                        continue
                    name = name[: -len(".json")]
                elif not entry.is_dir():
                    continue
                mtime = entry.stat().st_mtime
                # A record is written when the job is created; a job dir only later.
                seen[name] = min(seen.get(name, mtime), mtime)
    return sorted(seen, key=lambda n: seen[n], reverse=True)


def list_jobs(limit: int | None = None) -> tuple[list[JobSummary], int]:
    """The newest ``limit`` jobs, and how many there are in all."""
    names = job_names()
    rows = [s for n in names[:limit] if (s := summarize(n)) is not None]
    return rows, len(names)


def job_exists(name: str) -> bool:
    return (jobs_dir() / name).exists() or record_path(name).exists()


def read_log_chunk(name: str, offset: int, limit: int = 65536) -> tuple[str, int]:
    """Log text from ``offset`` (bytes) on, ending at a line boundary, and the next offset.

    Pages poll with the offset they got, so a running job's log is never read twice.
    """
    path = log_path(name)
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, offset))
            data = handle.read(limit)
    except OSError:
        return "", offset
    cut = data.rfind(b"\n")
    if cut < 0:
        return "", offset
    data = data[: cut + 1]
    return data.decode("utf-8", "replace"), offset + len(data)


@dataclass
class Curves:
    """Metric name -> list of (round, value), parsed incrementally from a log."""

    offset: int = 0
    size: int = 0
    series: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


_curve_cache: dict[Path, Curves] = {}


def metric_curves(name: str) -> dict[str, list[tuple[int, float]]]:
    """Per-round metrics from the master host's log; only new bytes are parsed on each call."""
    path = log_path(name)
    curves = _curve_cache.setdefault(path, Curves())
    try:
        size = path.stat().st_size
    except OSError:
        return {}
    if size < curves.size:  # a new job with the same name: start over
        curves = _curve_cache[path] = Curves()
    if size > curves.offset:
        with path.open("rb") as handle:
            handle.seek(curves.offset)
            data = handle.read()
        cut = data.rfind(b"\n")
        if cut >= 0:
            for raw in data[: cut + 1].decode("utf-8", "replace").splitlines():
                parsed = parse_eval_line(raw)
                if parsed is None:
                    continue
                round_index, values = parsed
                for key, value in values.items():
                    curves.series.setdefault(key, []).append((round_index, value))
            curves.offset += cut + 1
    curves.size = size
    return curves.series


def timeline(summary: JobSummary) -> list[dict[str, Any]]:
    """Secondary statuses with times: the runner's observations, else the files' times."""
    if summary.record is not None and summary.record.get("timeline"):
        steps = list(summary.record["timeline"])
        if summary.status == FAILED and steps[-1]["status"] != FAILED:
            steps.append({"status": FAILED, "time": summary.ended or time.time()})
        return steps
    steps = [{"status": "Starting", "time": summary.created}]
    log = log_path(summary.name)
    if log.exists():
        steps.append({"status": "Training", "time": summary.created})
    if summary.ended is not None:
        steps.append({"status": summary.status, "time": summary.ended})
    return steps


def job_files(name: str) -> dict[str, Path]:
    """Downloadable artifacts that exist."""
    found = {}
    for key in ("model.tar.gz", "output.tar.gz"):
        path = artifacts_dir(name) / key
        if path.is_file():
            found[key] = path
    return found


def job_config(name: str) -> dict[str, Any]:
    """Hyperparameters and input config as the job saw them (inputdataconfig.json...)."""
    root = jobs_dir() / name
    config = root / "input" / "config"
    if not config.is_dir():
        config = root / "algo-1" / "input" / "config"
    return {
        "hyperparameters": read_json(config / "hyperparameters.json") or {},
        "input_data_config": read_json(config / "inputdataconfig.json") or {},
        "resource_config": read_json(config / "resourceconfig.json") or {},
    }


def _output_data_dirs(name: str) -> tuple[Path, Path]:
    """SM_OUTPUT_DATA_DIR of a one-host job, then of a multi-host job's master."""
    root = jobs_dir() / name
    return root / "output/data", root / "algo-1/output/data"


def evaluation(name: str) -> dict[str, Any] | None:
    for directory in _output_data_dirs(name):
        value = read_json(directory / "evaluation.json")
        if value is not None:
            return value
    return None


def evaluation_plot(name: str, file: str) -> Path | None:
    """A PNG the evaluation report lists under "plots"; only those names are served."""
    report = evaluation(name) or {}
    if file not in (report.get("plots") or []) or not file.endswith(".png"):
        return None
    for directory in _output_data_dirs(name):
        if (directory / file).is_file():
            return directory / file
    return None
