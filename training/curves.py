"""ROC and precision-recall curves in numpy alone.

The report's JSON and the plotting helper process both use them; neither may depend on
scikit-learn, which the job keeps out of its imports (train.py), nor on xgboost, which the
plotting helper does not import (plots.py).
"""

from __future__ import annotations

import numpy as np


def _cumulative_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(true positives, rows predicted positive) at each distinct score, highest score first;
    tied scores share one threshold, as in sklearn."""
    order = np.argsort(-scores, kind="mergesort")
    y = labels[order] > 0.5
    s = scores[order]
    distinct = np.flatnonzero(np.diff(s)) if s.size > 1 else np.array([], dtype=int)
    cut = np.concatenate([distinct, [y.size - 1]])
    return np.cumsum(y)[cut], cut + 1


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(false positive rate, true positive rate, AUC)."""
    tps, predicted = _cumulative_counts(labels, scores)
    fps = predicted - tps
    positives, negatives = tps[-1], fps[-1]
    if positives == 0 or negatives == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), float("nan")
    tpr = np.concatenate([[0.0], tps / positives])
    fpr = np.concatenate([[0.0], fps / negatives])
    # Trapezoid rule written out: numpy 2 renamed np.trapz, and containers pin either major.
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def pr_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(recall, precision, average precision), step-wise like sklearn's average_precision."""
    tps, predicted = _cumulative_counts(labels, scores)
    positives = tps[-1]
    if positives == 0:
        return np.array([0.0, 1.0]), np.array([1.0, 0.0]), float("nan")
    precision = tps / predicted
    recall = tps / positives
    average_precision = float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))
    return np.concatenate([[0.0], recall]), np.concatenate([[1.0], precision]), average_precision
