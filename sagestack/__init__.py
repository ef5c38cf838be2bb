"""SageStack: SageMaker as code, with a local runtime.

``from sagestack import Model, TrainingInstance, S3DataSource, PredictorInstance`` is the SDK:
subclass ``Model``, then ``fit()`` and ``deploy()`` it locally (instance type ``"local"``) or
on the deployed stacks (``ml.*``). ``sagestack.local`` runs training jobs the way a SageMaker
training container would; ``sagestack.serving`` serves inference handlers the way the
script-mode serving container does. ``sagestack`` on the command line wraps both.

Exports resolve lazily (PEP 562): this package is shipped into training and serving containers
with the user's model, where ``from sagestack import Model`` must need only numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Model": "sagestack.sdk.model",
    "Dataset": "sagestack.sdk.dataset",
    "XGBoostModel": "sagestack.sdk.xgboost_model",
    "TrainingInstance": "sagestack.sdk.instances",
    "PredictorInstance": "sagestack.sdk.instances",
    "S3DataSource": "sagestack.sdk.sources",
    "Predictor": "sagestack.sdk.predictor",
    "TrainingRun": "sagestack.sdk.runs",
    "serving_config_for": "sagestack.sdk.serving_config",
    "SageStackError": "sagestack.sdk.errors",
}
__all__ = [
    "Dataset",
    "Model",
    "Predictor",
    "PredictorInstance",
    "S3DataSource",
    "SageStackError",
    "TrainingInstance",
    "TrainingRun",
    "XGBoostModel",
    "serving_config_for",
]

if TYPE_CHECKING:
    from sagestack.sdk.dataset import Dataset
    from sagestack.sdk.errors import SageStackError
    from sagestack.sdk.instances import PredictorInstance, TrainingInstance
    from sagestack.sdk.model import Model
    from sagestack.sdk.predictor import Predictor
    from sagestack.sdk.runs import TrainingRun
    from sagestack.sdk.serving_config import serving_config_for
    from sagestack.sdk.sources import S3DataSource
    from sagestack.sdk.xgboost_model import XGBoostModel


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # resolve once
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
