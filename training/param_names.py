"""Which hyperparameter names a job may use, read from XGBoost's own configuration.

XGBoost only warns ("Parameters: { "max_dept" } are not used") and trains with its defaults; the
built-in SageMaker algorithm rejects an unknown hyperparameter. The valid set is what XGBoost
itself reports (Booster.save_config() for every booster, tree method and objective family, which
includes its aliases such as learning_rate, plus its global config), the container's documented
hyperparameters and this script's own keys, so a parameter XGBoost accepts but nobody listed
here still passes. Imports nothing from its siblings: the SDK and the CLI load this file to check
hyperparameters before they launch anything.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable
from typing import Any

# Keys train.py consumes itself; everything else goes to xgboost.train() as a parameter.
SCRIPT_HYPERPARAMETERS = ("num_round", "early_stopping_rounds", "eval_metric", "csv_weights")

# Documented for the SageMaker XGBoost algorithm, container 3.2-0 included
# (https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost_hyperparameters.html) but not in
# XGBoost 3.2.0's config (removed from XGBoost, or read by the container's own code): a job
# written for the built-in algorithm must still start.
CONTAINER_HYPERPARAMETERS = frozenset(
    {
        "deterministic_histogram",
        "lambda_bias",
        "prob_buffer_row",
        "save_model_on_termination",
        "single_precision_histogram",
        "sketch_eps",
        "use_dask_gpu_training",
    }
)

# Configurations whose save_config() together name every parameter: each booster, updater and
# objective family registers its own parameter struct only when it is configured. Objectives do
# not depend on the booster, so each list is crossed with the other's first entry only.
_BOOSTERS: tuple[dict[str, str], ...] = (
    {"booster": "gbtree", "tree_method": "hist"},
    {"booster": "gbtree", "tree_method": "approx"},
    {"booster": "gbtree", "tree_method": "exact"},
    {"booster": "dart"},
    {"booster": "gblinear", "updater": "shotgun"},
    {"booster": "gblinear", "updater": "coord_descent"},
)
_OBJECTIVES: tuple[dict[str, str], ...] = (
    {"objective": "reg:squarederror"},
    {"objective": "reg:pseudohubererror"},
    {"objective": "reg:quantileerror", "quantile_alpha": "0.5"},
    {"objective": "reg:tweedie"},
    {"objective": "binary:logistic"},
    {"objective": "multi:softprob", "num_class": "3"},
    {"objective": "survival:aft"},
    {"objective": "rank:ndcg"},
)
# Structural keys of the config document, not parameters.
_NOT_PARAMETERS = frozenset({"name"})
# Toolkit keys (sagemaker_*) and the container's private ones (_kfold, _tuning_objective_metric).
_IGNORED_PREFIXES = ("sagemaker_", "_")


def _leaf_keys(node: Any, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                _leaf_keys(value, found)
            else:
                found.add(key)
    elif isinstance(node, list):
        for value in node:
            _leaf_keys(value, found)
    return found


@functools.cache
def xgboost_parameters() -> frozenset[str]:
    """Every parameter name the installed XGBoost reports in its configuration."""
    import numpy as np
    import xgboost as xgb

    data = xgb.DMatrix(np.zeros((2, 1), dtype=np.float32), label=[0.0, 1.0])
    names: set[str] = set(xgb.get_config())
    combinations = [{**b, **_OBJECTIVES[0]} for b in _BOOSTERS]
    combinations += [{**_BOOSTERS[0], **o} for o in _OBJECTIVES[1:]]
    for params in combinations:
        _leaf_keys(json.loads(xgb.Booster(params, [data]).save_config()), names)
    return frozenset(names - _NOT_PARAMETERS)


def valid_names() -> frozenset[str]:
    return xgboost_parameters() | CONTAINER_HYPERPARAMETERS | frozenset(SCRIPT_HYPERPARAMETERS)


def unknown_names_message(names: Iterable[str]) -> str | None:
    """A sentence naming each unknown hyperparameter and its closest valid names, or None."""
    valid = valid_names()
    unknown = sorted(
        n for n in set(names) if n not in valid and not n.startswith(_IGNORED_PREFIXES)
    )
    if not unknown:
        return None
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(valid), n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        parts.append(f"{name}{hint}")
    import xgboost as xgb

    return (
        f"Unknown hyperparameter{'s' if len(unknown) > 1 else ''} {'; '.join(parts)}: XGBoost "
        f"{xgb.__version__} would ignore {'them' if len(unknown) > 1 else 'it'} and train with its "
        "defaults. Valid names are XGBoost's parameters "
        "(https://xgboost.readthedocs.io/en/stable/parameter.html) and "
        f"{', '.join(SCRIPT_HYPERPARAMETERS)}"
    )
