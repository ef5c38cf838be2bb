"""``python -m bench``: run the benchmarks, write bench/RESULTS.md and bench/results.png.

Default run: training, serving and synth, about 8 minutes on 2 cores. `make test` is left
out by default because it alone takes minutes and runs the same code the other sections
already time; add --with-make-test to include it.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from bench import report
from bench.common import BENCH, OUT, Row, log

SECTIONS = ("training", "serving", "infra")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--repeats", type=int, default=3, help="rounds per section (median)")
    parser.add_argument(
        "--duration", type=float, default=3.0, help="seconds per wrk load point per round"
    )
    parser.add_argument("--with-make-test", action="store_true", help="also time `make test`")
    parser.add_argument("--quick", action="store_true", help="1 repeat, no 1M-row training")
    parser.add_argument("--output", default=str(BENCH), help="where RESULTS.md/results.png go")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    repeats = 1 if args.quick else args.repeats
    OUT.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows: list[Row] = []
    skipped: list[str] = []
    if "training" in sections:
        from bench import training

        rows += training.run(repeats, big=not args.quick)[0]
    if "serving" in sections:
        from bench import serving
        from bench.wrk import WrkMissing

        try:
            rows += serving.run(repeats, args.duration)[0]
        except WrkMissing as exc:
            log(f"skipping serving: {exc}")
            skipped.append(f"serving ({exc})")
    if "infra" in sections:
        from bench import infra

        rows += infra.run(repeats, args.with_make_test)
    if not args.with_make_test:
        skipped.append("`make test` wall time (add --with-make-test)")

    import xgboost

    meta: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "repeats": repeats,
        "elapsed_s": time.perf_counter() - started,
        "xgboost": xgboost.__version__,
        "skipped": skipped,
    }
    out = os.path.abspath(args.output)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "RESULTS.md"), "w", encoding="utf-8") as f:
        f.write(report.markdown(rows, meta))
    report.chart(rows, os.path.join(out, "results.png"))  # type: ignore[arg-type]
    log(f"wrote {out}/RESULTS.md and {out}/results.png in {meta['elapsed_s'] / 60:.1f} min")
    print(report.markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
