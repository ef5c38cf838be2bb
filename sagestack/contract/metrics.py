"""XGBoost's evaluation metrics as SageMaker sees them: names, log regexes, directions.

The training script, the Training stack and the SDK all build their MetricDefinitions here.
The regexes match the lines XGBoost's EvaluationMonitor prints,
`[12]\\ttrain-auc:0.91\\tvalidation-auc:0.88`, both in a local log (real TABs) and in
CloudWatch, which shows a TAB as `#011`. The built-in algorithm's own regexes rely on that:
`.*\\[[0-9]+\\].*#011validation-auc:(\\S+)` (aws/sagemaker-xgboost-container,
src/sagemaker_xgboost_container/algorithm_mode/metrics.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

CHANNELS = ("train", "validation")
MAX_METRIC_DEFINITIONS = 40  # CreateTrainingJob limit
MAX_REGEX_CHARS = 500  # CreateTrainingJob limit

# Metric families XGBoost maximizes; everything else it minimizes (xgb_constants.py in the
# SageMaker XGBoost container keeps the same split).
_MAXIMIZE = frozenset({"auc", "aucpr", "map", "ndcg", "pre", "interval-regression-accuracy"})
_MINIMIZE = frozenset(
    {
        "rmse",
        "rmsle",
        "mae",
        "mape",
        "mphe",
        "logloss",
        "error",
        "merror",
        "mlogloss",
        "poisson-nloglik",
        "gamma-nloglik",
        "gamma-deviance",
        "cox-nloglik",
        "tweedie-nloglik",
        "aft-nloglik",
        "quantile",
    }
)
KNOWN_METRICS = _MAXIMIZE | _MINIMIZE

# What XGBoost would choose itself; the script sets it explicitly so the printed metric name,
# and so the regexes, are known before the job runs.
_DEFAULT_EVAL_METRIC = {
    "reg:squarederror": "rmse",
    "reg:squaredlogerror": "rmsle",
    "reg:logistic": "rmse",
    "reg:pseudohubererror": "mphe",
    "reg:absoluteerror": "mae",
    "reg:quantileerror": "quantile",
    "reg:gamma": "gamma-nloglik",
    "binary:logistic": "logloss",
    "binary:logitraw": "logloss",
    "binary:hinge": "error",
    "multi:softmax": "mlogloss",
    "multi:softprob": "mlogloss",
    "count:poisson": "poisson-nloglik",
    "survival:cox": "cox-nloglik",
    "survival:aft": "aft-nloglik",
}

# A number as XGBoost prints it; excludes the TAB/#011 that follows, unlike the built-in's (\S+).
_NUMBER = r"([-+0-9.eE]+)"
_SEPARATOR = r"(?:#011|\t)"


def base_metric(metric: str) -> str:
    """`ndcg@5-` -> `ndcg`, `error@0.7` -> `error`: the family that decides direction."""
    return metric.split("@", 1)[0]


def is_known_metric(metric: str) -> bool:
    return base_metric(metric) in KNOWN_METRICS


def metric_direction(metric: str) -> str:
    """`Maximize` or `Minimize`, the words SageMaker tuning and quality gates use."""
    return "Maximize" if base_metric(metric) in _MAXIMIZE else "Minimize"


def default_eval_metric(objective: str) -> str | None:
    """The metric XGBoost reports for an objective when eval_metric is unset (None: let it pick)."""
    return _DEFAULT_EVAL_METRIC.get(objective)


def split_eval_metrics(value: str | Sequence[str] | None) -> list[str]:
    """`"auc,logloss"`, `'["auc", "logloss"]'` or a list -> `["auc", "logloss"]`."""
    if value is None:
        return []
    if isinstance(value, str) and value.strip().startswith("["):
        # v3 sends a list as JSON (`["auc", "logloss"]`), legacy script mode as a Python repr.
        value = value.strip()[1:-1]
    items = value.split(",") if isinstance(value, str) else list(value)
    return [m.strip().strip("'\"").strip() for m in items if m.strip().strip("'\"").strip()]


def metric_regex(channel: str, metric: str) -> str:
    """Regex whose group 1 is the value of `<channel>-<metric>` on an evaluation line."""
    return rf".*\[[0-9]+\].*{_SEPARATOR}{re.escape(channel)}-{re.escape(metric)}:{_NUMBER}"


def metric_definitions(
    eval_metrics: str | Iterable[str], channels: Sequence[str] = CHANNELS
) -> list[dict[str, str]]:
    """MetricDefinitions (`[{"Name": "validation:auc", "Regex": ...}, ...]`) for a training job.

    Names follow the built-in algorithm (`validation:auc`), so a tuning job or a quality gate can
    refer to the same metric whichever mode trained the model.
    """
    metrics = split_eval_metrics(
        eval_metrics if isinstance(eval_metrics, str) else list(eval_metrics)
    )
    definitions = [
        {"Name": f"{channel}:{metric}", "Regex": metric_regex(channel, metric)}
        for channel in channels
        for metric in metrics
    ]
    if len(definitions) > MAX_METRIC_DEFINITIONS:
        raise ValueError(
            f"{len(definitions)} metric definitions; CreateTrainingJob allows "
            f"{MAX_METRIC_DEFINITIONS}"
        )
    for definition in definitions:
        if len(definition["Regex"]) > MAX_REGEX_CHARS:
            raise ValueError(f"regex for {definition['Name']} is over {MAX_REGEX_CHARS} chars")
    return definitions
