"""Load soak of the local serving runtime: 60 s of concurrent requests on loopback.

    python -m bench.load_soak [--duration 60] [--connections 8] [--rows 1] [--json out.json]

Starts a two-worker local endpoint serving a small XGBoost model through the repository's
inference.py, warms it up, then keeps `--connections` keep-alive connections busy for
`--duration` seconds and prints requests, errors, throughput, p50/p99 latency and the workers'
resident memory before and after. It exits non-zero only if a request failed (a non-2xx
answer, a socket error or a timeout), a worker restarted, /ping stopped answering, or the
workers' total RSS grew by 10 % or more. It is a benchmark, not a timed test.

The load generator is wrk (bench/wrk.py: HTTP/1.1 keep-alive, one epoll thread, cheap on two
cores). If wrk is missing and this runs as root with apt-get available, the Debian package is
installed first; otherwise (or with `--generator python`) a Python generator of keep-alive
threads across processes is used, which costs more CPU itself and so reports lower
throughput on the same machine.

RSS "before" is read after the warm-up, when the model is loaded and every lazy import and
buffer pool has been touched; growth from there on is what a leak would look like.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.wrk import WrkMissing, ensure_wrk, run_wrk  # noqa: E402
from sagestack.serving.endpoint import LocalEndpoint, start_local_endpoint  # noqa: E402

MAX_RSS_GROWTH = 0.10
NUM_FEATURES = 20


@dataclass
class LoadResult:
    generator: str
    duration_s: float
    requests: int
    errors: int
    error_detail: dict[str, int]
    rps: float
    p50_ms: float
    p99_ms: float


@dataclass
class SoakResult:
    load: LoadResult
    workers_before: dict[int, int]  # pid -> RSS bytes
    workers_after: dict[int, int]
    ping_ok: bool
    warmup: LoadResult | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rss_before(self) -> int:
        return sum(self.workers_before.values())

    @property
    def rss_after(self) -> int:
        return sum(self.workers_after.values())

    @property
    def rss_growth(self) -> float:
        return (self.rss_after - self.rss_before) / self.rss_before if self.rss_before else 0.0

    @property
    def workers_restarted(self) -> bool:
        return sorted(self.workers_before) != sorted(self.workers_after)

    def failures(self, max_rss_growth: float = MAX_RSS_GROWTH) -> list[str]:
        problems = []
        if self.load.errors:
            problems.append(f"{self.load.errors} failed requests {self.load.error_detail}")
        if self.workers_restarted:
            problems.append(
                f"workers restarted: {sorted(self.workers_before)} -> {sorted(self.workers_after)}"
            )
        if not self.ping_ok:
            problems.append("/ping did not answer 200 after the run")
        if self.rss_growth >= max_rss_growth:
            problems.append(f"worker RSS grew {self.rss_growth:.1%} (limit {max_rss_growth:.0%})")
        return problems


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def request_body(rows: int) -> bytes:
    """`rows` CSV rows of NUM_FEATURES features, fixed so every run sends the same bytes."""
    import numpy as np

    values = np.random.default_rng(42).standard_normal((rows, NUM_FEATURES))
    return "\n".join(",".join(f"{v:.6f}" for v in row) for row in values).encode()


def run_wrk_load(
    url: str, body: bytes, duration_s: float, connections: int, threads: int
) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        body_path = Path(tmp) / "body.csv"
        body_path.write_bytes(body)
        result = run_wrk(
            url,
            body_path=body_path,
            content_type="text/csv",
            accept="application/json",
            connections=connections,
            duration_s=duration_s,
            script_dir=Path(tmp),
            threads=threads,
        )
    return LoadResult(
        generator="wrk",
        duration_s=round(result.duration_s, 2),
        requests=result.requests,
        errors=result.errors,
        error_detail={"wrk": result.errors} if result.errors else {},
        rps=round(result.rps, 1),
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
    )


def _python_worker(args: tuple[str, int, bytes, float, int]) -> tuple[int, dict, list[float]]:
    """One process of the Python generator: `connections` keep-alive threads."""
    host, port, body, deadline, connections = args
    lock = threading.Lock()
    latencies: list[float] = []
    errors: dict[str, int] = {}

    def loop() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        headers = {"Content-Type": "text/csv", "Accept": "application/json"}
        mine: list[float] = []
        while time.time() < deadline:
            started = time.perf_counter()
            try:
                conn.request("POST", "/invocations", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                kind = None if 200 <= response.status < 300 else "status"
            except (OSError, http.client.HTTPException) as error:
                kind = type(error).__name__
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
            if kind is None:
                mine.append(time.perf_counter() - started)
            else:
                with lock:
                    errors[kind] = errors.get(kind, 0) + 1
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) + sum(errors.values()), errors, latencies


def run_python(
    host: str, port: int, body: bytes, duration_s: float, connections: int, processes: int
) -> LoadResult:
    processes = max(1, min(processes, connections))
    per_process = [
        connections // processes + (i < connections % processes) for i in range(processes)
    ]
    started = time.time()
    deadline = started + duration_s
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_python_worker, [(host, port, body, deadline, n) for n in per_process])
    elapsed = time.time() - started
    latencies = sorted(x for _, _, lat in parts for x in lat)
    errors: dict[str, int] = {}
    for _, part_errors, _ in parts:
        for kind, count in part_errors.items():
            errors[kind] = errors.get(kind, 0) + count
    total = sum(n for n, _, _ in parts)

    def percentile(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else 0.0
        )

    return LoadResult(
        generator="python",
        duration_s=round(elapsed, 2),
        requests=total,
        errors=sum(errors.values()),
        error_detail=errors,
        rps=round(total / elapsed, 1),
        p50_ms=round(percentile(0.50), 3),
        p99_ms=round(percentile(0.99), 3),
    )


def generate_load(
    endpoint: LocalEndpoint,
    body: bytes,
    duration_s: float,
    connections: int,
    threads: int,
    generator: str,
    log=print,
) -> LoadResult:
    """wrk (installed on first use when possible, bench/wrk.py), else the Python generator."""
    if generator in ("auto", "wrk"):
        try:
            ensure_wrk()
        except WrkMissing as missing:
            if generator == "wrk":
                raise
            log(f"{missing}; using the Python load generator")
        else:
            return run_wrk_load(endpoint.invocations_url, body, duration_s, connections, threads)
    return run_python(endpoint.host, endpoint.port, body, duration_s, connections, threads)


def soak(
    endpoint: LocalEndpoint,
    *,
    duration_s: float = 60.0,
    warmup_s: float = 5.0,
    connections: int = 8,
    threads: int = 1,
    rows: int = 1,
    generator: str = "auto",
    log=print,
) -> SoakResult:
    """Warm up, read RSS, run the load, read RSS again, ping."""
    body = request_body(rows)
    warmup = None
    if warmup_s > 0:
        warmup = generate_load(endpoint, body, warmup_s, connections, threads, generator, log)
    workers = endpoint.worker_pids()
    before = {pid: rss_bytes(pid) for pid in workers}
    load = generate_load(endpoint, body, duration_s, connections, threads, generator, log)
    after = {}
    for pid in endpoint.worker_pids():
        try:
            after[pid] = rss_bytes(pid)
        except (OSError, RuntimeError):
            continue
    try:
        conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=2)
        conn.request("GET", "/ping")
        ping_ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        ping_ok = False
    return SoakResult(
        load=load, workers_before=before, workers_after=after, ping_ok=ping_ok, warmup=warmup
    )


def train_model(directory: Path) -> Path:
    """A small binary model (20 features, 50 trees of depth 6) packed as model.tar.gz."""
    import numpy as np
    import xgboost as xgb

    from sagestack.local.archive import create_tar_gz

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5000, NUM_FEATURES)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(np.float32)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 6, "nthread": 1},
        xgb.DMatrix(x, label=y),
        num_boost_round=50,
    )
    model_dir = directory / "model"
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    return create_tar_gz(model_dir, directory / "model.tar.gz")


def _mib(value: int) -> str:
    return f"{value / 2**20:.1f} MiB"


def report_lines(result: SoakResult) -> list[str]:
    load = result.load
    lines = [
        f"generator      {load.generator}, {load.duration_s} s",
        f"requests       {load.requests} ({load.rps} req/s)",
        f"errors         {load.errors} {load.error_detail or ''}".rstrip(),
        f"latency        p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms",
        "worker RSS     before "
        + ", ".join(f"{pid}: {_mib(v)}" for pid, v in sorted(result.workers_before.items()))
        + f" (total {_mib(result.rss_before)})",
        "               after  "
        + ", ".join(f"{pid}: {_mib(v)}" for pid, v in sorted(result.workers_after.items()))
        + f" (total {_mib(result.rss_after)})",
        f"RSS growth     {result.rss_growth:+.2%} (limit {MAX_RSS_GROWTH:.0%})",
        f"/ping after    {'200' if result.ping_ok else 'FAILED'}",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load_soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load")
    parser.add_argument(
        "--warmup", type=float, default=5.0, help="seconds of load before RSS is read"
    )
    parser.add_argument(
        "--connections", type=int, default=8, help="concurrent keep-alive connections"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="wrk threads (or Python processes); one leaves the cores to the server",
    )
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--rows", type=int, default=1, help="CSV rows per request")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(f"[load_soak] {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="sagestack-soak-") as tmp:
        work = Path(tmp)
        log("training a 50-tree model with 20 features")
        archive = train_model(work)
        log(f"starting a {args.workers}-worker local endpoint")
        with (
            open(work / "server.log", "wb") as server_log,
            start_local_endpoint(archive, workers=args.workers, log=server_log) as endpoint,
        ):
            log(
                f"{args.warmup:.0f} s warm-up, then {args.duration:.0f} s at {args.connections} "
                f"connections, {args.rows} row(s) per request on {endpoint.invocations_url}"
            )
            result = soak(
                endpoint,
                duration_s=args.duration,
                warmup_s=args.warmup,
                connections=args.connections,
                threads=args.threads,
                rows=args.rows,
                generator=args.generator,
                log=log,
            )
    for line in report_lines(result):
        print(line)
    failures = result.failures()
    print("result         " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    if args.json:
        figures = {
            **asdict(result),
            "rss_before": result.rss_before,
            "rss_after": result.rss_after,
            "rss_growth": result.rss_growth,
            "failures": failures,
        }
        args.json.write_text(json.dumps(figures, indent=2, default=str))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
