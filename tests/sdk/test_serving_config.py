"""serving_config_for prints the cdk.json Serving settings that deploy the same model."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from sagestack import PredictorInstance, S3DataSource, XGBoostModel, serving_config_for

from .numpy_models import NearestCentroid

REPACKED = "s3://sagestack-dev-artifacts/training/sdk/models/0123456789abcdef/model.tar.gz"
RAW = "s3://sagestack-dev-artifacts/training/models/job-1/output/model.tar.gz"


def _printed(console: Console) -> tuple[list[str], dict[str, object]]:
    text = console.file.getvalue()  # type: ignore[attr-defined]
    notes = [line for line in text.splitlines() if line.startswith("# ")]
    body = "\n".join(line for line in text.splitlines() if not line.startswith("# "))
    return notes, json.loads(body)


def test_an_archive_with_its_code_gets_an_isolated_instance_endpoint() -> None:
    console = Console(file=io.StringIO(), width=200)
    settings = serving_config_for(
        S3DataSource(REPACKED),
        PredictorInstance("ml.m5.xlarge", count=2),
        model=XGBoostModel(),
        environment="prod",
        console=console,
    )
    assert settings == {
        "model_data_url": REPACKED,
        "variant": "instance",
        "instance_type": "ml.m5.xlarge",
        "instance_count": 2,
        "max_instance_count": 2,
        "network_isolation": True,
    }
    notes, printed = _printed(console)
    assert printed == {"serving": settings}
    assert notes == [
        "# cdk.json: context.sagestack.environments.prod.serving, then `make deploy ENV=prod`"
    ]


def test_a_raw_training_archive_is_served_without_isolation() -> None:
    console = Console(file=io.StringIO(), width=200)
    settings = serving_config_for(RAW, console=console)
    assert settings["network_isolation"] is False
    assert any("this archive may have no code/" in note for note in _printed(console)[0])


def test_serverless_settings_and_custom_model_note() -> None:
    console = Console(file=io.StringIO(), width=200)
    settings = serving_config_for(
        REPACKED, PredictorInstance.serverless(4096, 20), model=NearestCentroid(), console=console
    )
    assert settings == {
        "model_data_url": REPACKED,
        "variant": "serverless",
        "serverless_memory_mib": 4096,
        "serverless_max_concurrency": 20,
    }
    assert any("use Model.deploy() for it" in note for note in _printed(console)[0])


def test_fails_for_a_local_archive(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="the Serving stack reads model.tar.gz from S3"):
        serving_config_for(S3DataSource.local(tmp_path / "model.tar.gz"))


@pytest.mark.parametrize(
    "instance", [PredictorInstance("ml.m5.xlarge", count=2), PredictorInstance.serverless(4096, 20)]
)
def test_printed_settings_are_valid_cdk_json_serving_keys(instance: PredictorInstance) -> None:
    from stacks.build import read_cdk_json_context
    from stacks.config import load_config

    context = read_cdk_json_context()
    serving = context["sagestack"]["environments"]["test"]["serving"]
    serving |= serving_config_for(REPACKED, instance, console=Console(file=io.StringIO()))
    serving["model_data_url"] = REPACKED
    (config,) = load_config({**context, "env": "test"}).environments
    assert config.serving.model_data_url == REPACKED
    assert config.serving.variant.value == ("serverless" if instance.is_serverless else "instance")
