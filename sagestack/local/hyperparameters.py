"""Hyperparameter encodings and the two ways a SageMaker container turns them into argv."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sagestack.contract.hyperparameters import decode_value, encode_value

# sagemaker-containers strips every hyperparameter with this prefix from argv and SM_HPS
# (they configure the toolkit, not the user's script).
SAGEMAKER_PREFIX = "sagemaker_"


def encode_v2(value: Any) -> str:
    """The SDK v2 framework-estimator encoding: every value JSON-encoded, strings quoted.

    Only the legacy launch path uses it; everything else encodes as SDK v3 does
    (sagestack.contract.hyperparameters)."""
    return json.dumps(value)


def to_hyperparameters_json(
    hyperparameters: Mapping[str, Any], *, style: str = "v3"
) -> dict[str, str]:
    """The ``{str: str}`` mapping SageMaker writes to ``hyperparameters.json``.

    ``style`` picks the SDK whose convention is emulated: ``"v2"`` (legacy estimators, which
    quote strings) or ``"v3"`` (ModelTrainer, which does not). A value that is already a string
    is taken as given by the user in that SDK's call and encoded the same way.
    """
    encode = encode_v2 if style == "v2" else encode_value
    return {str(key): encode(value) for key, value in hyperparameters.items()}


def user_hyperparameters(hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Decoded hyperparameters without the toolkit's ``sagemaker_*`` keys (legacy SM_HPS)."""
    return {
        key: decode_value(value)
        for key, value in hyperparameters.items()
        if not key.startswith(SAGEMAKER_PREFIX)
    }


def _legacy_str(value: Any) -> str:
    # Python's str(), as sagemaker-containers' _mapping._decode does: True -> "True".
    if isinstance(value, bytes):
        return value.decode("latin1")
    return "" if value is None else str(value)


def legacy_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """argv for launch path B (``python -m train ...``), as sagemaker-containers builds it.

    Keys sorted; one-character keys become ``-x``; values JSON-decoded then ``str()``-ed, so
    booleans read ``True``; a dict becomes ``k=v,k=v``; ``sagemaker_*`` keys are dropped.
    """
    decoded = user_hyperparameters(hyperparameters)
    args: list[str] = []
    for key in sorted(decoded):
        value = decoded[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append(_legacy_str(value))
    return args


def v3_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """argv for launch path C (``python3 train.py ...``), as the SDK v3 driver builds it.

    Insertion order, always ``--key``; values JSON-decoded then re-encoded with strings raw, so
    booleans read ``true`` and a dict stays JSON. Nothing is dropped.
    """
    args: list[str] = []
    for key, value in hyperparameters.items():
        args.extend([f"--{key}", encode_value(decode_value(value))])
    return args
