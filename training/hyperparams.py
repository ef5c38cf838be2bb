"""Hyperparameters from any launch path, normalised and checked before XGBoost sees them.

Legacy script mode passes sorted `--k v` args with Python-style `True`; SDK v3 passes insertion
order with `true`; a built-in style launch passes nothing and leaves hyperparameters.json
(the v2 SDK JSON-encodes every value there, v3 writes strings raw). The result is the same
TrainConfig either way, and a bad value fails with a sentence naming the hyperparameter instead
of an XGBoost stack trace.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import param_names
from job_errors import UserError

from sagestack.contract import metrics
from sagestack.contract.hyperparameters import decode_value

OBJECTIVES = (
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:quantileerror",
    "reg:gamma",
    "reg:tweedie",
    "binary:logistic",
    "binary:logitraw",
    "binary:hinge",
    "multi:softmax",
    "multi:softprob",
    "count:poisson",
    "survival:cox",
    "survival:aft",
    "rank:ndcg",
    "rank:map",
    "rank:pairwise",
)
DEFAULT_OBJECTIVE = "reg:squarederror"  # XGBoost's own default, as in the built-in algorithm

_SCRIPT_KEYS = param_names.SCRIPT_HYPERPARAMETERS
# Keys toolkits add that are not XGBoost parameters (paths come from SM_* variables only).
_DROPPED_KEYS = frozenset({"model_dir", "model-dir", "output_data_dir", "output-data-dir"})
_DROPPED_PREFIXES = ("sagemaker_", "_")

# (kind, low, high, low_inclusive): checked here so the message names the hyperparameter.
_NUMERIC_RULES: dict[str, tuple[type, float, float, bool]] = {
    "eta": (float, 0.0, 1.0, False),
    "learning_rate": (float, 0.0, 1.0, False),
    "gamma": (float, 0.0, math.inf, True),
    "min_split_loss": (float, 0.0, math.inf, True),
    "max_depth": (int, 0, math.inf, True),
    "min_child_weight": (float, 0.0, math.inf, True),
    "max_delta_step": (float, 0.0, math.inf, True),
    "subsample": (float, 0.0, 1.0, False),
    "colsample_bytree": (float, 0.0, 1.0, False),
    "colsample_bylevel": (float, 0.0, 1.0, False),
    "colsample_bynode": (float, 0.0, 1.0, False),
    "lambda": (float, 0.0, math.inf, True),
    "reg_lambda": (float, 0.0, math.inf, True),
    "alpha": (float, 0.0, math.inf, True),
    "reg_alpha": (float, 0.0, math.inf, True),
    "scale_pos_weight": (float, 0.0, math.inf, False),
    "max_bin": (int, 2, math.inf, True),
    "max_leaves": (int, 0, math.inf, True),
    "num_parallel_tree": (int, 1, math.inf, True),
    "nthread": (int, 0, math.inf, True),
    "seed": (int, -math.inf, math.inf, True),
}


@dataclass(frozen=True)
class TrainConfig:
    """What the training loop needs, separated from the parameters passed through to XGBoost."""

    num_round: int
    objective: str
    eval_metrics: list[str]
    early_stopping_rounds: int | None = None
    num_class: int | None = None
    csv_weights: bool = False
    xgb_params: dict[str, str] = field(default_factory=dict)

    @property
    def is_binary(self) -> bool:
        return self.objective.startswith("binary:")

    @property
    def is_multiclass(self) -> bool:
        return self.objective.startswith("multi:")


def to_text(value: Any) -> str:
    """One string form for every source: JSON-decoded SM_HPS values, v2's JSON-encoded strings
    and raw CLI tokens. Booleans become XGBoost's lower-case `true`/`false` whatever their case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    text = str(value).strip()
    if text.lower() in ("true", "false"):
        return text.lower()
    return text


def parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "y", "t"):
        return True
    if lowered in ("0", "false", "no", "n", "f", ""):
        return False
    raise UserError(f"Hyperparameter {name}={value!r} is not a boolean; use true or false")


def read_hyperparameters_file(path: str) -> dict[str, Any]:
    if not os.path.isfile(path):
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            data = json.load(f)
        except json.JSONDecodeError as e:
            raise UserError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise UserError(f"{path} must hold a JSON object of hyperparameters")
    return {k: decode_value(v) for k, v in data.items()}


class _Parser(argparse.ArgumentParser):
    """argparse exits with status 2 and a usage text; we want a failure-file sentence instead."""

    def error(self, message: str):  # type: ignore[override]
        raise UserError(f"Bad command-line hyperparameters: {message}")


def parse_cli(argv: Sequence[str]) -> dict[str, str]:
    """`--k v`, `--k=v` and legacy one-letter `-x v` in any order; unknown keys are kept.

    argparse names the script's own keys; parse_known_args leaves the rest, which are XGBoost
    parameters (resolve() checks their names against XGBoost's own list).
    """
    parser = _Parser(add_help=False, allow_abbrev=False)
    for key in _SCRIPT_KEYS:
        parser.add_argument(f"--{key}", type=str, default=None)
    known, rest = parser.parse_known_args(list(argv))
    values = {k: v for k, v in vars(known).items() if v is not None}
    i = 0
    while i < len(rest):
        token = rest[i]
        if not token.startswith("-") or token in ("-", "--"):
            raise UserError(f"Unexpected command-line argument {token!r}; expected --name value")
        key = token.lstrip("-")
        if "=" in key:
            key, value = key.split("=", 1)
            i += 1
        elif i + 1 < len(rest):
            value = rest[i + 1]
            i += 2
        else:
            raise UserError(f"Hyperparameter {token} has no value")
        values[key] = value
    return values


def merge_sources(
    argv: Sequence[str], environ: Mapping[str, str], file_values: Mapping[str, Any]
) -> dict[str, str]:
    """hyperparameters.json < SM_HPS < command line; all three agree when SageMaker launched us."""
    merged: dict[str, str] = {k: to_text(v) for k, v in file_values.items()}
    sm_hps = environ.get("SM_HPS")
    if sm_hps:
        try:
            decoded = json.loads(sm_hps)
        except json.JSONDecodeError as e:
            raise UserError(f"$SM_HPS is not valid JSON: {e}") from e
        if isinstance(decoded, dict):
            merged.update({k: to_text(v) for k, v in decoded.items()})
    merged.update({k: to_text(v) for k, v in parse_cli(argv).items()})
    return {
        k: v
        for k, v in merged.items()
        if k not in _DROPPED_KEYS and not k.startswith(_DROPPED_PREFIXES)
    }


def _whole_number(name: str, value: str, minimum: int) -> int:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        raise UserError(f"Hyperparameter {name}={value!r} is not a whole number")
    if number < minimum:
        raise UserError(f"Hyperparameter {name}={value!r} must be at least {minimum}")
    return int(number)


def _check_numeric(name: str, value: str) -> None:
    kind, low, high, low_inclusive = _NUMERIC_RULES[name]
    if kind is int:
        _whole_number(name, value, int(low) if math.isfinite(low) else -(2**63))
        number = float(value)
    else:
        try:
            number = float(value)
        except ValueError:
            raise UserError(f"Hyperparameter {name}={value!r} is not a number") from None
    too_low = number < low or (number == low and not low_inclusive)
    if too_low or number > high or math.isnan(number):
        lo = "[" if low_inclusive else "("
        hi = "inf)" if math.isinf(high) else f"{high:g}]"
        raise UserError(f"Hyperparameter {name}={value!r} is out of range {lo}{low:g}, {hi}")


def resolve(values: Mapping[str, str]) -> TrainConfig:
    """Validate merged hyperparameters and split script keys from XGBoost parameters."""
    params = dict(values)
    unknown = param_names.unknown_names_message(params)
    if unknown:
        raise UserError(unknown)
    if "num_round" not in params:
        raise UserError(
            "Missing required hyperparameter num_round (the number of boosting rounds, e.g. 100)"
        )
    num_round = _whole_number("num_round", params.pop("num_round"), 1)

    objective = params.get("objective", DEFAULT_OBJECTIVE)
    if objective not in OBJECTIVES:
        raise UserError(
            f"Hyperparameter objective={objective!r} is not an XGBoost objective; "
            f"use one of {', '.join(OBJECTIVES)}"
        )
    params["objective"] = objective

    num_class = None
    if objective.startswith("multi:"):
        if "num_class" not in params:
            raise UserError(
                f"Hyperparameter num_class is required with objective {objective} "
                "(the number of classes; labels must be 0..num_class-1)"
            )
        num_class = _whole_number("num_class", params["num_class"], 2)
    elif "num_class" in params:
        params.pop("num_class")  # XGBoost rejects num_class for non-multiclass objectives

    eval_metrics = metrics.split_eval_metrics(params.pop("eval_metric", None))
    for metric in eval_metrics:
        if not metrics.is_known_metric(metric):
            raise UserError(
                f"Hyperparameter eval_metric has unknown metric {metric!r}; use one or more of "
                f"{', '.join(sorted(metrics.KNOWN_METRICS))} (comma-separated)"
            )
    if not eval_metrics:
        default = metrics.default_eval_metric(objective)
        eval_metrics = [default] if default else []

    early_stopping_rounds = None
    if params.get("early_stopping_rounds") not in (None, ""):
        early_stopping_rounds = _whole_number(
            "early_stopping_rounds", params.pop("early_stopping_rounds"), 1
        )
    params.pop("early_stopping_rounds", None)
    csv_weights = parse_bool("csv_weights", params.pop("csv_weights", "false"))

    for name, value in params.items():
        if name in _NUMERIC_RULES:
            _check_numeric(name, value)
    return TrainConfig(
        num_round=num_round,
        objective=objective,
        eval_metrics=eval_metrics,
        early_stopping_rounds=early_stopping_rounds,
        num_class=num_class,
        csv_weights=csv_weights,
        xgb_params=params,
    )


def xgboost_params(config: TrainConfig) -> dict[str, Any]:
    """The dict handed to xgboost.train(): pass-through values plus the resolved eval metrics."""
    params: dict[str, Any] = dict(config.xgb_params)
    if config.eval_metrics:
        params["eval_metric"] = list(config.eval_metrics)
    return params
