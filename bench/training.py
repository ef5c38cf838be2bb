"""Training: the local runtime end to end against raw XGBoost on the same CSV, and the floor.

Contenders run in turn inside each repeat (raw, floor, runtime, raw tiny, runtime tiny), each
in a fresh process, so a slow minute on a shared machine hits every contender alike. The
raw baseline is charged what the runtime is charged: a Python start, `import xgboost`, the
CSV load and the same `xgb.train` call (train and validation watched with AUC every round,
as the script does). The runtime is timed around `run_training_job` in a process that has
already imported sagestack, as in a notebook.
"""

from __future__ import annotations

import json
import shutil
import sys

from bench.common import OUT, Row, log, median, python_env, run_process
from bench.data import TINY_ROWS, TRAIN_ROWS, VALIDATION_ROWS, ensure_data

NUM_ROUND = 100
MAX_DEPTH = 6


def _probe(task: str, spec: dict):
    return run_process(
        [sys.executable, "-m", "bench.train_probe", task, json.dumps(spec)], env=python_env()
    )


def _clean_jobs() -> None:
    """Job dirs hold a copy of the 185 MB CSV each; keep the disk and page cache small."""
    for name in ("jobs", "artifacts"):
        shutil.rmtree(OUT / name, ignore_errors=True)


def run(repeats: int, big: bool = True) -> tuple[list[Row], dict]:
    data = ensure_data()
    common = {
        "num_round": NUM_ROUND,
        "max_depth": MAX_DEPTH,
        "jobs_root": str(OUT / "jobs"),
        "output_path": str(OUT / "artifacts"),
    }
    full = common | {
        "train": str(data.train),
        "validation": str(data.validation),
        "rows": TRAIN_ROWS,
        "validation_rows": VALIDATION_ROWS,
    }
    tiny = common | {
        "train": str(data.tiny),
        "validation": None,
        "rows": TINY_ROWS,
        "validation_rows": 0,
    }
    samples: dict[str, list] = {k: [] for k in ("raw", "floor", "e2e", "raw_tiny", "e2e_tiny")}
    for round_no in range(1, repeats + 1):
        if big:
            log(f"training round {round_no}/{repeats}: raw xgboost, 1M-row CSV")
            samples["raw"].append(_probe("raw_csv", full))
            log(f"training round {round_no}/{repeats}: floor (numpy in memory)")
            samples["floor"].append(_probe("raw_numpy", full))
            log(f"training round {round_no}/{repeats}: local runtime end to end")
            samples["e2e"].append(_probe("end_to_end", full))
            _clean_jobs()
        log(f"training round {round_no}/{repeats}: 1,000-row job, raw and end to end")
        samples["raw_tiny"].append(_probe("raw_csv", tiny))
        samples["e2e_tiny"].append(_probe("end_to_end", tiny))
    _clean_jobs()
    return _rows(samples, big), samples


def _phases(runs: list) -> str:
    """Where the job's time went, from the phase times train.py logs."""
    parts = []
    for key, name in (
        ("script_load_s", "load"),
        ("script_train_s", "train"),
        ("script_report_s", "evaluation report"),
    ):
        values = [r.report[key] for r in runs if key in r.report]
        if values:
            parts.append(f"{name} {median(values):.2f} s")
    return " + ".join(parts) or "(no phase times in the log)"


def _paired(values: list[float], baselines: list[float]) -> float:
    return median([v / b for v, b in zip(values, baselines, strict=True)])


def _rows(s: dict[str, list], big: bool) -> list[Row]:
    rows = []
    if big:
        raw_wall = median([r.wall_s for r in s["raw"]])
        e2e = median([r.report["work_s"] for r in s["e2e"]])
        floor = median([r.report["work_s"] for r in s["floor"]])
        raw_load = median([r.report["load_s"] for r in s["raw"]])
        raw_train = median([r.report["train_s"] for r in s["raw"]])
        raw_import = median([r.report["import_s"] for r in s["raw"]])
        rows += [
            Row(
                "Training",
                "1M x 20 CSV + 100k validation, 100 rounds: local runtime end to end",
                e2e,
                "s",
                raw_wall,
                "raw xgboost process on the same CSV",
                "<= 1.05x raw",
                _paired([r.report["work_s"] for r in s["e2e"]], [r.wall_s for r in s["raw"]])
                <= 1.05,
                ratio_target=True,
                note=f"raw = import {raw_import:.2f} s + load {raw_load:.2f} s + train "
                f"{raw_train:.2f} s; in the job: " + _phases(s["e2e"]),
                samples=[r.report["work_s"] for r in s["e2e"]],
                paired_ratio=_paired(
                    [r.report["work_s"] for r in s["e2e"]], [r.wall_s for r in s["raw"]]
                ),
            ),
            Row(
                "Training",
                "raw xgboost process, DMatrix('...?format=csv&label_column=0')",
                raw_wall,
                "s",
                floor,
                "floor: DMatrix from numpy in memory + train",
                samples=[r.wall_s for r in s["raw"]],
                paired_ratio=_paired(
                    [r.wall_s for r in s["raw"]], [r.report["work_s"] for r in s["floor"]]
                ),
                note=f"floor = DMatrix {median([r.report['load_s'] for r in s['floor']]):.2f} s"
                f" + train {median([r.report['train_s'] for r in s['floor']]):.2f} s",
            ),
        ]
        e2e_peak = median([r.max_rss_mb for r in s["e2e"]])
        raw_peak = median([r.max_rss_mb for r in s["raw"]])
        rows += [
            Row(
                "Training",
                "peak RSS, local runtime (largest process: the training script)",
                e2e_peak,
                "MB",
                raw_peak,
                "raw xgboost process",
                "<= 1.2x raw",
                _paired([r.max_rss_mb for r in s["e2e"]], [r.max_rss_mb for r in s["raw"]]) <= 1.2,
                ratio_target=True,
                paired_ratio=_paired(
                    [r.max_rss_mb for r in s["e2e"]], [r.max_rss_mb for r in s["raw"]]
                ),
                note=f"runtime parent {median([r.report['runtime_peak_mb'] for r in s['e2e']]):.0f}"
                " MB on top, alive at the same time",
            ),
            Row(
                "Training",
                "peak RSS, floor (numpy arrays + DMatrix)",
                median([r.max_rss_mb for r in s["floor"]]),
                "MB",
                raw_peak,
                "raw xgboost process",
            ),
        ]
    tiny = median([r.report["work_s"] for r in s["e2e_tiny"]])
    raw_tiny = median([r.wall_s for r in s["raw_tiny"]])
    rows.append(
        Row(
            "Training",
            "fixed overhead: 1,000-row job end to end",
            tiny,
            "s",
            raw_tiny,
            "raw xgboost process on the same 1,000 rows",
            "< 1 s",
            tiny < 1.0,
            note=f"{tiny - raw_tiny:+.2f} s vs raw (whose import takes "
            f"{median([r.report['import_s'] for r in s['raw_tiny']]):.2f} s); in the job: "
            + _phases(s["e2e_tiny"]),
            samples=[r.report["work_s"] for r in s["e2e_tiny"]],
            paired_ratio=_paired(
                [r.report["work_s"] for r in s["e2e_tiny"]], [r.wall_s for r in s["raw_tiny"]]
            ),
        )
    )
    return rows
