"""The evaluation report in SM_OUTPUT_DATA_DIR: evaluation.json and optional PNG plots.

SageMaker tars output/data into output.tar.gz next to model.tar.gz, which keeps the model
directory clean (serving loads every top-level file there). Curves are computed with numpy so the
JSON never depends on scikit-learn, and plots are skipped with a log line when matplotlib is
missing from the container.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import sm_constants as c
import xgboost as xgb

MAX_EVAL_ROWS = 50_000  # curves and residuals from a sample: AUC within ~0.005, bounded time
MAX_SCATTER_POINTS = 5_000
TOP_FEATURES = 20


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(false positive rate, true positive rate, AUC); ties share one point, as in sklearn."""
    order = np.argsort(-scores, kind="mergesort")
    y = labels[order] > 0.5
    s = scores[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size > 1 else np.array([], dtype=int)
    cut = np.concatenate([distinct, [y.size - 1]])
    tps = np.cumsum(y)[cut]
    fps = (cut + 1) - tps
    positives, negatives = tps[-1], fps[-1]
    if positives == 0 or negatives == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan")
    tpr = np.concatenate([[0.0], tps / positives])
    fpr = np.concatenate([[0.0], fps / negatives])
    # Trapezoid rule written out: numpy 2 renamed np.trapz, and containers pin either major.
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(recall, precision, average precision), step-wise like sklearn's average_precision."""
    order = np.argsort(-scores, kind="mergesort")
    y = labels[order] > 0.5
    s = scores[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size > 1 else np.array([], dtype=int)
    cut = np.concatenate([distinct, [y.size - 1]])
    tps = np.cumsum(y)[cut]
    predicted = cut + 1
    positives = tps[-1]
    if positives == 0:
        return np.array([0.0, 1.0]), np.array([1.0, 0.0]), float("nan")
    precision = tps / predicted
    recall = tps / positives
    average_precision = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    return np.concatenate([[0.0], recall]), np.concatenate([[1.0], precision]), average_precision


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


def _plots(
    directory: str,
    objective: str,
    labels: np.ndarray,
    predictions: np.ndarray,
    importance: dict[str, float],
    log,
) -> list[str]:
    try:  # Figure + Agg canvas directly: no pyplot state, no GUI backend probing
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        log("matplotlib is not installed here; skipping the PNG plots of the evaluation report")
        return []
    written = []

    def figure(width: float, height: float, columns: int = 1):
        fig = Figure(figsize=(width, height), dpi=100)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(1, columns)

    def save(fig, name: str) -> None:
        fig.tight_layout()
        fig.savefig(os.path.join(directory, name))
        written.append(name)

    if objective in ("binary:logistic", "binary:logitraw"):
        scores = predictions if objective == "binary:logistic" else 1 / (1 + np.exp(-predictions))
        fpr, tpr, auc = roc_curve(labels, scores)
        fig, ax = figure(5, 5)
        ax.plot(fpr, tpr, label=f"AUC = {auc:.4f}")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve")
        ax.legend(loc="lower right")
        save(fig, "roc_curve.png")
        recall, precision, ap = pr_curve(labels, scores)
        fig, ax = figure(5, 5)
        ax.step(recall, precision, where="post", label=f"AP = {ap:.4f}")
        ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve", ylim=(0, 1.02))
        ax.legend(loc="lower left")
        save(fig, "pr_curve.png")
    elif not objective.startswith(("multi:", "binary:", "rank:")) and predictions.ndim == 1:
        residuals = labels - predictions
        pick = np.arange(residuals.size)
        if residuals.size > MAX_SCATTER_POINTS:
            pick = np.random.default_rng(0).choice(
                residuals.size, MAX_SCATTER_POINTS, replace=False
            )
        fig, (left, right) = figure(10, 4, 2)
        left.scatter(predictions[pick], residuals[pick], s=4, alpha=0.5)
        left.axhline(0, color="grey", linestyle="--")
        left.set(xlabel="Predicted", ylabel="Residual (label - predicted)", title="Residuals")
        right.hist(residuals, bins=50)
        right.set(xlabel="Residual", ylabel="Rows", title="Residual distribution")
        save(fig, "residuals.png")
    if importance:
        top = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:TOP_FEATURES]
        fig, ax = figure(6, 0.3 * len(top) + 1.2)
        ax.barh([k for k, _ in reversed(top)], [v for _, v in reversed(top)])
        ax.set(xlabel="Total gain", title="Feature importance (gain)")
        save(fig, "feature_importance.png")
    return written


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
    log=print,
) -> dict[str, Any]:
    """Write evaluation.json (and plots) for the final, already truncated booster.

    final_metrics are the eval_metric values XGBoost printed at the kept iteration.
    """
    os.makedirs(directory, exist_ok=True)
    importance = {
        k: float(v if isinstance(v, float) else sum(v))
        for k, v in booster.get_score(importance_type="gain").items()
    }
    plots = _plots(directory, objective, labels, predictions, importance, log)
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
