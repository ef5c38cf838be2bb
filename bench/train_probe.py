"""One training measurement in a fresh process: ``python -m bench.train_probe TASK JSON``.

A fresh process per measurement makes peak RSS mean something (nothing left over from the
previous run) and charges each contender its own interpreter start and imports. Imports are
kept to the standard library until the task itself starts, so the baseline is not slowed by
benchmark code. The last stdout line is a JSON report.
"""

from __future__ import annotations

import json
import resource
import sys
import time

_STARTED = time.perf_counter()


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def _params(spec: dict) -> dict:
    return {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "max_depth": spec["max_depth"],
    }


def _train(xgb, spec: dict, dtrain, dvalidation) -> None:
    """The same call the training script makes: train + validation watched every round."""
    evals = [(dtrain, "train")]
    if dvalidation is not None:
        evals.append((dvalidation, "validation"))
    booster = xgb.train(
        _params(spec), dtrain, num_boost_round=spec["num_round"], evals=evals, verbose_eval=False
    )
    booster.save_raw("ubj")


def raw_csv(spec: dict) -> dict:
    """What a user would write: import xgboost, load with its own CSV loader, train."""
    import warnings

    import xgboost as xgb

    imported = time.perf_counter()
    warnings.filterwarnings("ignore", message=".*Text file input has been deprecated.*")
    dtrain = xgb.DMatrix(f"{spec['train']}?format=csv&label_column=0")
    dvalidation = (
        xgb.DMatrix(f"{spec['validation']}?format=csv&label_column=0")
        if spec.get("validation")
        else None
    )
    loaded = time.perf_counter()
    _train(xgb, spec, dtrain, dvalidation)
    done = time.perf_counter()
    return {
        "import_s": imported - _STARTED,
        "load_s": loaded - imported,
        "train_s": done - loaded,
        "work_s": done - imported,
    }


def raw_numpy(spec: dict) -> dict:
    """The floor: the data already in memory as numpy (generation not timed)."""
    import numpy as np
    import xgboost as xgb

    from bench.data import features_and_labels

    x, y = features_and_labels(spec["rows"], 11)
    xv, yv = (
        features_and_labels(spec["validation_rows"], 12)
        if spec["validation_rows"]
        else (
            None,
            None,
        )
    )
    np.ascontiguousarray(x)
    started = time.perf_counter()
    dtrain = xgb.DMatrix(x, label=y)
    dvalidation = xgb.DMatrix(xv, label=yv) if xv is not None else None
    loaded = time.perf_counter()
    _train(xgb, spec, dtrain, dvalidation)
    done = time.perf_counter()
    return {"load_s": loaded - started, "train_s": done - loaded, "work_s": done - started}


def end_to_end(spec: dict) -> dict:
    """The local runtime as the SDK calls it, timed around the call only."""
    from sagestack.local import TrainingJobSpec, run_training_job

    inputs = {"train": spec["train"]}
    if spec.get("validation"):
        inputs["validation"] = spec["validation"]
    job = TrainingJobSpec(
        inputs=inputs,
        hyperparameters={
            "num_round": spec["num_round"],
            "max_depth": spec["max_depth"],
            "objective": "binary:logistic",
            "eval_metric": "auc",
            "tree_method": "hist",
        },
        content_type="text/csv",
        jobs_root=spec["jobs_root"],
        output_path=spec["output_path"],
    )
    started = time.perf_counter()
    result = run_training_job(job, stream_logs=False)
    done = time.perf_counter()
    return {
        "work_s": done - started,
        "job_s": result.duration_s,
        **_script_phases(result.log_files["algo-1"].read_text(encoding="utf-8")),
        "runtime_peak_mb": _peak_mb(resource.RUSAGE_SELF),
        "script_peak_mb": _peak_mb(resource.RUSAGE_CHILDREN),
        "model": str(result.model_artifacts),
        "log": str(result.log_files["algo-1"]),
    }


_PHASES = {
    "script_load_s": r"Loaded train: .* in ([0-9.]+) s",
    "script_train_s": r"Trained \d+ rounds in ([0-9.]+) s",
    "script_report_s": r"Wrote the evaluation report .* in ([0-9.]+) s",
}


def _script_phases(log: str) -> dict:
    """The phase times train.py prints, so the report can say where the runtime's time went."""
    import re

    found = {}
    for key, pattern in _PHASES.items():
        match = re.search(pattern, log)
        if match:
            found[key] = float(match.group(1))
    return found


TASKS = {"raw_csv": raw_csv, "raw_numpy": raw_numpy, "end_to_end": end_to_end}


def main() -> None:
    task, spec = sys.argv[1], json.loads(sys.argv[2])
    report = TASKS[task](spec)
    report["max_rss_mb"] = _peak_mb(resource.RUSAGE_SELF)
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
