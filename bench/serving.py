"""Serving: the local endpoint (2 workers) under wrk, against the in-process limit.

Every load point is repeated in round-robin (point 1..n, then again) so that a noisy
neighbour spreads over all points instead of ruining one, and the endpoint is restarted each
round so its start-up time is sampled too. The in-process limit runs in the same round.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.common import OUT, REPO, Row, log, median, python_env, run_process
from bench.data import FEATURES, features_and_labels, request_rows
from bench.wrk import WrkResult, ensure_wrk, run_wrk

WORKERS = 2
_MODEL_VERSION = 1
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json"}
# (format, rows per request, connections): the matrix.
POINTS = [
    (fmt, rows, conns)
    for fmt in ("csv", "json")
    for rows, conns_list in ((1, (1, 8)), (1_000, (2, 4)), (10_000, (2, 4)))
    for conns in conns_list
]
# Reference figures for a mature stack of the same shape (nginx + gunicorn/gevent + Flask) on
# this machine kind, from the issue; the targets are twice these.
REFERENCE = {("csv", 1, 1): 1_000.0, ("csv", 1, 8): 1_900.0, ("csv", 1_000, 4): 200_000.0}


def ensure_model(out: Path = OUT) -> Path:
    """A model dir with `xgboost-model` trained like the training benchmark (100 rounds,
    depth 6, binary:logistic) on 100k rows of the same data: prediction cost depends on the
    trees, not on how many rows built them."""
    directory = out / f"model-v{_MODEL_VERSION}"
    path = directory / "xgboost-model"
    if not path.exists():
        import xgboost as xgb

        log("training the serving benchmark model (100k rows, 100 rounds)")
        directory.mkdir(parents=True, exist_ok=True)
        x, y = features_and_labels(100_000, 21)
        params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6}
        booster = xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=100)
        tmp = directory / "xgboost-model.tmp"
        tmp.write_bytes(booster.save_raw("ubj"))
        tmp.rename(path)
    return directory


def _csv_text(x: np.ndarray) -> str:
    row = ",".join(["%.6g"] * x.shape[1])
    return "\n".join([row] * x.shape[0]) % tuple(x.astype(np.float64).ravel().tolist())


def write_bodies(out: Path = OUT) -> dict[tuple[str, int], Path]:
    """The request bodies: the same numbers (6 significant digits) as CSV and as JSON
    ``{"instances": [[...], ...]}``, so the two formats differ only in syntax."""
    directory = out / "bodies"
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for rows in (1, 1_000, 10_000):
        text = _csv_text(request_rows(rows))
        bodies = {
            "csv": text,
            "json": '{"instances":[[' + text.replace("\n", "],[") + "]]}",
        }
        for fmt, body in bodies.items():
            path = directory / f"{fmt}-{rows}.{fmt}"
            path.write_text(body, encoding="ascii")
            paths[(fmt, rows)] = path
    return paths


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@dataclass
class PointSamples:
    wrk: list[WrkResult] = field(default_factory=list)
    busiest_worker_share: list[float] = field(default_factory=list)


@dataclass
class LimitSamples:
    rate_per_process: list[float] = field(default_factory=list)  # calls/s
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    handler_ms: list[float] = field(default_factory=list)
    parser: str = ""


def _start_endpoint(model_dir: Path, log_file: Path):
    from sagestack.serving import start_local_endpoint

    started = time.perf_counter()
    with open(log_file, "ab") as sink:
        endpoint = start_local_endpoint(model_dir, workers=WORKERS, log=sink)
    return endpoint, time.perf_counter() - started


def _bare_start_s(model_dir: Path) -> float:
    """Baseline for start-up: one process that imports xgboost and loads the model."""
    path = str(model_dir / "xgboost-model")
    code = (
        "import numpy as np, xgboost as xgb; b = xgb.Booster(); "
        f"b.load_model(bytearray(open({path!r}, 'rb').read())); "
        "b.inplace_predict(np.zeros((1, b.num_features()), 'float32'))"
    )
    return run_process([sys.executable, "-c", code], env=python_env()).wall_s


def _limit_round(model_dir: Path, bodies: dict[tuple[str, int], Path], duration_s: float) -> dict:
    """WORKERS probe processes, each parsing + predicting every body in the same time slot."""
    import subprocess

    slot = duration_s + 0.3
    spec = {
        "model_dir": str(model_dir),
        "inference_dir": str(REPO / "inference"),
        "bodies": [
            {"name": f"{fmt}-{rows}", "path": str(path), "format": fmt, "rows": rows}
            for (fmt, rows), path in bodies.items()
        ],
        "slot_s": slot,
        "duration_s": duration_s,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.limit_probe", json.dumps(spec)],
            env=python_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    for proc in procs:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("limit probe failed before it was ready")
    start_at = time.time() + 0.2
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start_at}\n")
        proc.stdin.flush()
    reports = []
    for proc in procs:
        stdout, _ = proc.communicate(timeout=60 + slot * len(bodies))
        if proc.returncode != 0:
            raise RuntimeError(f"limit probe failed with exit code {proc.returncode}")
        reports.append(json.loads(stdout.strip().splitlines()[-1])["results"])
    merged: dict[str, list[dict]] = {}
    for report in reports:
        for item in report:
            merged.setdefault(item["name"], []).append(item)
    return {name: (items, duration_s) for name, items in merged.items()}


def run(repeats: int, duration_s: float) -> tuple[list[Row], dict]:
    """All serving rows plus raw details for the chart."""
    ensure_wrk()
    model_dir = ensure_model()
    bodies = write_bodies()
    work = OUT / "serving"
    work.mkdir(parents=True, exist_ok=True)
    points = {p: PointSamples() for p in POINTS}
    limits = {key: LimitSamples() for key in bodies}
    starts, bare_starts = [], []
    for round_no in range(1, repeats + 1):
        log(f"serving round {round_no}/{repeats}: in-process limit")
        for name, (items, window) in _limit_round(model_dir, bodies, duration_s / 2).items():
            fmt, rows = name.split("-")
            sample = limits[(fmt, int(rows))]
            sample.rate_per_process.append(median([i["calls"] / window for i in items]))
            sample.p50_ms.append(median([i["p50_ms"] for i in items]))
            sample.p99_ms.append(median([i["p99_ms"] for i in items]))
            sample.handler_ms.append(median([i["handler_ms"] for i in items]))
            sample.parser = items[0]["parser"]
        bare_starts.append(_bare_start_s(model_dir))
        endpoint, start_s = _start_endpoint(model_dir, work / "server.log")
        starts.append(start_s)
        log(f"serving round {round_no}/{repeats}: endpoint up in {start_s:.2f} s; wrk points")
        try:
            pids = endpoint.worker_pids()
            # Warm-up: first requests pay lazy imports and allocator growth.
            run_wrk(
                endpoint.invocations_url,
                body_path=bodies[("csv", 1_000)],
                content_type="text/csv",
                accept="text/csv",
                connections=4,
                duration_s=1,
                script_dir=work,
            )
            for fmt, rows, conns in POINTS:
                time.sleep(0.3)  # let the last point's connections close: independent clients
                before = [_cpu_ticks(pid) for pid in pids]
                result = run_wrk(
                    endpoint.invocations_url,
                    body_path=bodies[(fmt, rows)],
                    content_type=CONTENT_TYPES[fmt],
                    accept=CONTENT_TYPES[fmt],
                    connections=conns,
                    duration_s=duration_s,
                    script_dir=work,
                )
                used = [_cpu_ticks(pid) - b for pid, b in zip(pids, before, strict=True)]
                points[(fmt, rows, conns)].wrk.append(result)
                if sum(used):
                    points[(fmt, rows, conns)].busiest_worker_share.append(max(used) / sum(used))
                if result.errors:
                    log(f"warning: {result.errors} errors at {fmt} {rows} rows c={conns}")
        finally:
            endpoint.stop()
    return _rows(points, limits, starts, bare_starts), {"points": points, "limits": limits}


def _rows(
    points: dict[tuple[str, int, int], PointSamples],
    limits: dict[tuple[str, int], LimitSamples],
    starts: list[float],
    bare_starts: list[float],
) -> list[Row]:
    rows: list[Row] = []
    for (fmt, n, conns), samples in points.items():
        limit = limits[(fmt, n)]
        processes = min(conns, WORKERS)
        limit_rps = median(limit.rate_per_process) * processes
        rps = median([r.rps for r in samples.wrk])
        per_request = n == 1
        scale = 1 if per_request else n
        unit = "req/s" if per_request else "rows/s"
        checks = []  # (target text, met)
        reference = REFERENCE.get((fmt, n, conns))
        if reference:
            checks.append(
                (f">= {2 * reference:,.0f} {unit} (2x reference)", rps * scale >= 2 * reference)
            )
        if n == 1_000:
            checks.append((">= 0.5x limit", rps >= 0.5 * limit_rps))
        target = "; ".join(text for text, _ in checks)
        ok = all(met for _, met in checks) if checks else None
        errors = sum(r.errors for r in samples.wrk)
        share = median(samples.busiest_worker_share)
        rows.append(
            Row(
                section="Serving",
                metric=f"{fmt} {n:,} row{'s' if n > 1 else ''}, c={conns}",
                value=rps * scale,
                unit=unit,
                baseline=limit_rps * scale,
                baseline_name=f"in-process limit ({limit.parser}, {processes} proc x 1 thread)",
                target=target,
                ok=ok,
                ratio_target=n == 1_000,
                note=(
                    f"p50 {median([r.p50_ms for r in samples.wrk]):.2f} ms, "
                    f"p99 {median([r.p99_ms for r in samples.wrk]):.2f} ms "
                    f"(limit p50 {median(limit.p50_ms):.2f} ms; handler "
                    f"{median(limit.handler_ms):.2f} ms); busiest worker {share:.0%} of CPU"
                    + (f"; {errors} errors" if errors else "")
                ),
                samples=[r.rps * scale for r in samples.wrk],
            )
        )
    rows.append(
        Row(
            section="Serving",
            metric=f"endpoint start-up ({WORKERS} workers, until ready)",
            value=median(starts),
            unit="s",
            baseline=median(bare_starts),
            baseline_name="python -c 'import xgboost; load model; predict 1 row'",
            samples=starts,
        )
    )
    return rows


__all__ = ["FEATURES", "POINTS", "run"]
