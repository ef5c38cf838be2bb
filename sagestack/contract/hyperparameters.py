"""How a hyperparameter value becomes the string CreateTrainingJob takes, and back.

One encoding for every launch path we start ourselves (an SDK job on AWS, a Training stack
execution, a local run), so a local fit and a cloud fit of the same values give the script the
same strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def encode_value(value: Any) -> str:
    """Strings as they are, anything else as JSON, else ``str()``.

    SageMaker Python SDK v3's ``safe_serialize`` (src/sagemaker/modules/utils.py), which its
    ModelTrainer applies to every hyperparameter: ``True`` -> ``true``, ``0.1`` -> ``0.1``,
    ``[1, 2]`` -> ``[1, 2]``, and a value JSON cannot hold (a numpy integer, a Path) -> its str().
    """
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except TypeError:
        return str(value)


def encode(hyperparameters: Mapping[str, Any]) -> dict[str, str]:
    """The ``{str: str}`` HyperParameters of CreateTrainingJob (and hyperparameters.json)."""
    return {str(key): encode_value(value) for key, value in hyperparameters.items()}


def decode_value(value: Any) -> Any:
    """JSON-decode a hyperparameter value if it is JSON, else keep it as is.

    Both toolkits do this before building argv (sagemaker-containers ``read_hyperparameters``,
    sagemaker-train ``safe_deserialize``), so ``"50"`` becomes 50 and ``"true"`` becomes True.
    """
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value
