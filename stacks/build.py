"""Builds the CDK app from configuration; app.py and the tests both go through here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App

from stacks.config import CONTEXT_KEY, SELECT_ENV_KEY, AppConfig, load_config
from stacks.stage import SageStackStage

REPO_ROOT = Path(__file__).resolve().parents[1]
CDK_JSON = REPO_ROOT / "cdk.json"

# Construct metadata would otherwise record stack traces that contain the jsii kernel's random
# temp directory, so two synths of the same code would differ. (The CLI reserves `aws:` keys in
# cdk.json, hence here.)
DETERMINISTIC_SYNTH_CONTEXT = {
    "aws:cdk:disable-stack-trace": True,
    "aws:cdk:disable-creation-stack-traces": True,
}


def read_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` of cdk.json: feature flags and SageStack settings.

    The CLI passes these to the app itself; `python app.py` and the tests must load them, or they
    would synthesize with different feature flags than `cdk synth`.
    """
    context = json.loads(path.read_text())["context"]
    return dict(context)


def create_app(*, context: Mapping[str, Any], outdir: str | None = None) -> App:
    """An App whose context is cdk.json's; CLI context (`-c`, cdk.context.json) overrides it."""
    merged = {**DETERMINISTIC_SYNTH_CONTEXT, **context}
    return App(context=merged, outdir=outdir, analytics_reporting=False)


def config_of(app: App) -> AppConfig:
    """Parses the SageStack settings from the app's merged context, once."""
    merged = {
        CONTEXT_KEY: app.node.try_get_context(CONTEXT_KEY),
        SELECT_ENV_KEY: app.node.try_get_context(SELECT_ENV_KEY),
    }
    return load_config({key: value for key, value in merged.items() if value is not None})


def build_app(config: AppConfig, app: App) -> list[SageStackStage]:
    """Adds one Stage per selected environment to `app`."""
    return [SageStackStage(app, config=environment) for environment in config.environments]
