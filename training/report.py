"""The evaluation report in SM_OUTPUT_DATA_DIR: evaluation.json and optional PNG plots.

SageMaker tars output/data into output.tar.gz next to model.tar.gz, which keeps the model
directory clean (serving loads every top-level file there). Curves are computed with numpy so the
JSON never depends on scikit-learn (curves.py). The PNGs come from a helper process (plots.py),
skipped with a log line when matplotlib is missing from the container.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import sm_constants as c
import xgboost as xgb
from curves import pr_curve, roc_curve
from plots import PlotHelper

MAX_EVAL_ROWS = 50_000  # curves and residuals from a sample: AUC within ~0.005, bounded time


def quality_metrics(objective: str, labels: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    """A few model-agnostic numbers, so reports from different eval_metric choices compare."""
    if objective in ("binary:logistic", "binary:logitraw"):
        scores = predictions if objective == "binary:logistic" else 1 / (1 + np.exp(-predictions))
        _, _, auc = roc_curve(labels, scores)
        _, _, ap = pr_curve(labels, scores)
        return {
            "auc": auc,
            "average_precision": ap,
            "accuracy_at_0.5": float(np.mean((scores > 0.5) == (labels > 0.5))),
            "positive_rate": float(np.mean(labels > 0.5)),
        }
    if objective == "binary:hinge":
        return {"accuracy": float(np.mean(predictions == labels))}
    if objective.startswith("multi:"):
        predicted = predictions if predictions.ndim == 1 else np.argmax(predictions, axis=1)
        return {"accuracy": float(np.mean(predicted == labels))}
    if predictions.ndim == 1:
        residuals = labels - predictions
        variance = float(np.var(labels))
        return {
            "rmse": float(np.sqrt(np.mean(residuals**2))),
            "mae": float(np.mean(np.abs(residuals))),
            "r2": float(1 - np.mean(residuals**2) / variance) if variance > 0 else float("nan"),
        }
    return {}


def class_metrics(objective: str, labels: np.ndarray, predictions: np.ndarray) -> dict[str, Any]:
    """For a multi-class objective, the confusion matrix (rows: true class, columns: predicted)
    and each class's precision, recall and support; {} for any other objective."""
    if not objective.startswith("multi:") or labels.size == 0:
        return {}
    predicted = (predictions if predictions.ndim == 1 else np.argmax(predictions, axis=1)).astype(
        int
    )
    true = labels.astype(int)
    classes = max(int(true.max()), int(predicted.max())) + 1
    if predictions.ndim == 2:
        classes = max(classes, predictions.shape[1])
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    hits, support, claimed = np.diag(matrix), matrix.sum(axis=1), matrix.sum(axis=0)
    per_class = [
        {
            "class": k,
            "precision": float(hits[k] / claimed[k]) if claimed[k] else None,
            "recall": float(hits[k] / support[k]) if support[k] else None,
            "support": int(support[k]),
        }
        for k in range(classes)
    ]
    return {"confusion_matrix": matrix.tolist(), "per_class": per_class}


def evaluation_sample(
    booster: xgb.Booster, dmatrix: xgb.DMatrix, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, predictions) on at most MAX_EVAL_ROWS rows, taken while the DMatrix still
    exists so the report itself runs after the training data is freed (peak memory)."""
    rows = dmatrix.num_row()
    if rows > MAX_EVAL_ROWS:
        index = np.sort(np.random.default_rng(seed).choice(rows, MAX_EVAL_ROWS, replace=False))
        dmatrix = dmatrix.slice(index)
    return dmatrix.get_label(), booster.predict(dmatrix)


def write_report(
    directory: str,
    *,
    booster: xgb.Booster,
    objective: str,
    eval_metrics: list[str],
    num_round: int,
    final_metrics: dict[str, dict[str, float]],
    best_iteration: int | None,
    rows: dict[str, int],
    eval_name: str,
    labels: np.ndarray,
    predictions: np.ndarray,
    plotter: PlotHelper | None = None,
    log=print,
) -> dict[str, Any]:
    """Write evaluation.json (and plots) for the final, already truncated booster.

    final_metrics are the eval_metric values XGBoost printed at the kept iteration. plotter is
    the helper train.py started at launch; without one, a helper is started now.
    """
    os.makedirs(directory, exist_ok=True)
    importance = {
        k: float(v if isinstance(v, float) else sum(v))
        for k, v in booster.get_score(importance_type="gain").items()
    }
    plotter = plotter or PlotHelper.start()
    plots = plotter.draw(directory, objective, labels, predictions, importance, log)
    report = {
        "objective": objective,
        "eval_metrics": eval_metrics,
        "num_round": num_round,
        "num_boosted_rounds": booster.num_boosted_rounds(),
        "best_iteration": best_iteration,
        "truncated_to_best_iteration": best_iteration is not None
        and best_iteration + 1 < num_round,
        "num_features": booster.num_features(),
        "rows": rows,
        "metrics": final_metrics,
        "evaluated_on": eval_name,
        "evaluated_rows": int(labels.shape[0]),
        "quality": quality_metrics(objective, labels, predictions),
        **class_metrics(objective, labels, predictions),
        "feature_importance_gain": dict(
            sorted(importance.items(), key=lambda kv: kv[1], reverse=True)
        ),
        "plots": plots,
    }
    report = _finite(report)
    with open(os.path.join(directory, c.EVALUATION_FILE), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, allow_nan=False)
    return report


def _finite(value: Any) -> Any:
    """NaN/inf (e.g. AUC of a one-class sample) become null: strict JSON parsers reject NaN."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
