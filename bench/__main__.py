"""``python -m bench``: run the benchmarks, write bench/RESULTS.md and bench/results.png.

Default run: training, serving, synth and the console (`--only console`: about a minute),
about 9 minutes on 2 cores. `make test` is left
out by default because it alone takes minutes and runs the same code the other sections
already time; add --with-make-test to include it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

from bench import report
from bench.common import BENCH, OUT, Row, log

SECTIONS = ("training", "serving", "infra", "console")
RESULTS_JSON = OUT / "results.json"  # the rows of the last run, for --render-only


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
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite RESULTS.md/results.png from the last run's bench/out/results.json",
    )
    return parser.parse_args(argv)


def _site_packages_compiled(module_file: str) -> bool:
    """Whether the venv was installed with bytecode (uv does not compile by default, and with
    PYTHONDONTWRITEBYTECODE set, as on these machines, nothing ever writes it): without it
    every Python process pays seconds of compiling at import."""
    return any((Path(module_file).parent / "__pycache__").glob("core.*.pyc"))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.render_only:
        saved = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        return _write(args.output, [Row(**row) for row in saved["rows"]], saved["meta"])
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
    if "console" in sections:
        from bench import console

        rows += console.run()
    if not args.with_make_test:
        skipped.append("`make test` wall time (add --with-make-test)")

    import xgboost

    compiled = _site_packages_compiled(xgboost.__file__)
    if not compiled:
        log("warning: site-packages has no bytecode; every process compiles its imports")
    meta: dict[str, Any] = {
        "bytecode": compiled,
        "cpus": os.cpu_count(),
        "repeats": repeats,
        "elapsed_s": time.perf_counter() - started,
        "xgboost": xgboost.__version__,
        "skipped": skipped,
    }
    RESULTS_JSON.write_text(
        json.dumps({"rows": [dataclasses.asdict(r) for r in rows], "meta": meta}, indent=1),
        encoding="utf-8",
    )
    return _write(args.output, rows, meta)


def _write(output: str, rows: list[Row], meta: dict[str, Any]) -> int:
    out = Path(output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    text = report.markdown(rows, meta)
    (out / "RESULTS.md").write_text(text, encoding="utf-8")
    report.chart(rows, out / "results.png")
    log(f"wrote {out}/RESULTS.md and {out}/results.png")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
