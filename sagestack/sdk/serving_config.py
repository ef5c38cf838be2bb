"""``serving_config_for``: the cdk.json Serving settings that deploy a model with ``cdk deploy``.

Model.deploy() is for trying a model; production endpoints belong to the Serving stack (blue/green
updates with alarm rollback, autoscaling, data capture). The keys are ServingStackProps' field
names of an environment's ``serving`` section in cdk.json (stacks/config.py ServingConfig).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sagestack.contract import prefixes
from sagestack.sdk.instances import PredictorInstance
from sagestack.sdk.sources import MODEL_CONTENT_TYPE, S3DataSource

if TYPE_CHECKING:
    from rich.console import Console

    from sagestack.sdk.model import Model

REPACKED_PREFIX = f"/{prefixes.SDK_MODELS}"
"""Key prefix of archives deploy() repacked with their inference code under code/."""


def serving_config_for(
    artifacts: S3DataSource | str,
    predictor_instance: PredictorInstance | None = None,
    *,
    model: Model | None = None,
    environment: str = "<env>",
    max_instance_count: int = 2,
    console: Console | None = None,
) -> dict[str, Any]:
    """Print (and return) the ``serving`` settings that serve ``artifacts`` via the stacks.

    ``artifacts`` must be in S3 (fit() on an ml.* instance returns such a source; a local one
    can be uploaded with deploy() or ``sagestack upload``). The Serving stack serves the
    bundled handler (inference/inference.py in the XGBoost image); a network-isolated endpoint
    needs that code inside the archive under code/. Archives deploy() repacked have it, and so
    do models the Training stack trained in script mode (train.py bundles it), but this
    function cannot look inside an S3 object, so any archive not repacked by deploy() gets
    ``network_isolation: false`` and a note saying when true is safe.
    """
    source = (
        artifacts
        if isinstance(artifacts, S3DataSource)
        else S3DataSource(artifacts, MODEL_CONTENT_TYPE)
    )
    if source.is_local:
        raise ValueError(
            f"{source.uri} is local; the Serving stack reads model.tar.gz from S3 (fit on an "
            "ml.* instance, or upload it with `sagestack upload`)"
        )
    instance = predictor_instance or PredictorInstance("ml.m5.large")
    if instance.is_local:
        raise ValueError("PredictorInstance('local') has no Serving stack equivalent")
    settings: dict[str, Any] = {"model_data_url": source.uri}
    if instance.is_serverless:
        settings |= {
            "variant": "serverless",
            "serverless_memory_mib": instance.memory_mib,
            "serverless_max_concurrency": instance.max_concurrency,
        }
    else:
        settings |= {
            "variant": "instance",
            "instance_type": instance.instance_type,
            "instance_count": instance.count,
            "max_instance_count": max(max_instance_count, instance.count),
            "network_isolation": REPACKED_PREFIX in source.uri,
        }
    notes = [
        f"cdk.json: context.sagestack.environments.{environment}.serving, then "
        f"`make deploy ENV={environment}`",
    ]
    if model is not None and not getattr(model, "bundled", False):
        notes.append(
            f"{type(model).__name__} is served by sagestack_serve.py (and its own image); the "
            "Serving stack serves the bundled inference.py only, so use Model.deploy() for it"
        )
    if not instance.is_serverless and not settings["network_isolation"]:
        notes.append(
            "network_isolation is false: this archive may have no code/. Set it true for "
            "models the Training stack trained in script mode (train.py bundles code/) or "
            "use the archive deploy() repacks"
        )
    if console is None:
        from rich.console import Console

        console = Console()
    out = console
    for note in notes:
        out.print(f"# {note}", markup=False, highlight=False)
    out.print(json.dumps({"serving": settings}, indent=2), markup=False, highlight=False)
    return settings
