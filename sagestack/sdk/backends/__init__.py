"""Chooses where fit() and deploy() run: ``local`` on this machine, ``ml.*`` on the stacks."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sagestack.sdk.instances import PredictorInstance, TrainingInstance
from sagestack.sdk.sources import MODEL_CONTENT_TYPE, S3DataSource

if TYPE_CHECKING:
    from sagestack.sdk.model import Model
    from sagestack.sdk.predictor import Predictor
    from sagestack.sdk.runs import TrainingRun

_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")  # CreateTrainingJob ChannelName
_RESERVED_CHANNELS = frozenset({"code", "sm_drivers"})


def channels(data: S3DataSource | Mapping[str, S3DataSource]) -> dict[str, S3DataSource]:
    """One source is the ``train`` channel; a mapping names every channel."""
    if isinstance(data, S3DataSource):
        return {"train": data}
    if not isinstance(data, Mapping) or not data:
        raise TypeError(
            f"data must be an S3DataSource or a non-empty dict of them, got {type(data).__name__}"
        )
    result = {}
    for name, source in data.items():
        if not isinstance(name, str) or not _CHANNEL_NAME.match(name):
            raise ValueError(f"channel name {name!r}: 1-64 letters, digits, '.', '-' or '_'")
        if name in _RESERVED_CHANNELS:
            raise ValueError(f"channel name {name!r} is reserved for the training code")
        if not isinstance(source, S3DataSource):
            raise TypeError(f"data[{name!r}] must be an S3DataSource, got {source!r}")
        result[name] = source
    if "train" not in result:
        raise ValueError(f"data needs a 'train' channel; got {sorted(result)}")
    return result


def _check_model(model: Model) -> None:
    try:
        inspect.signature(type(model)).bind()
    except TypeError:
        raise TypeError(
            f"{type(model).__name__}() must work without arguments: the container builds the "
            "model that way, so pass settings as hyperparameters"
        ) from None


def fit(
    model: Model,
    instance: TrainingInstance,
    data: S3DataSource | Mapping[str, S3DataSource],
    hyperparameters: dict[str, Any],
    *,
    background: bool = False,
) -> TrainingRun:
    """Start a training run; ``background`` returns before it ends (fit(wait=False))."""
    if not isinstance(instance, TrainingInstance):
        raise TypeError(f"training_instance must be a TrainingInstance, got {instance!r}")
    inputs = channels(data)
    _check_model(model)
    model.check_hyperparameters(hyperparameters)
    if instance.is_local:
        from sagestack.sdk.backends.local import fit_local

        return fit_local(model, instance, inputs, hyperparameters, background=background)
    from sagestack.sdk.backends.aws.fit import fit_aws

    return fit_aws(model, instance, inputs, hyperparameters, background=background)


def deploy(model: Model, instance: PredictorInstance, artifacts: S3DataSource | str) -> Predictor:
    if not isinstance(instance, PredictorInstance):
        raise TypeError(f"predictor_instance must be a PredictorInstance, got {instance!r}")
    source = (
        artifacts
        if isinstance(artifacts, S3DataSource)
        else S3DataSource(artifacts, MODEL_CONTENT_TYPE)
    )
    if instance.is_local:
        from sagestack.sdk.backends.local import deploy_local

        return deploy_local(model, instance, source)
    from sagestack.sdk.backends.aws.endpoints import deploy_aws

    return deploy_aws(model, instance, source)
