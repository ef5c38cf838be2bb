"""Infrastructure test fixtures: the whole app synthesized once per test session (per worker)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# jsii starts Node on the first aws_cdk import: point it at the pinned Node 24 from
# node_modules (the system's Node 20 is end of life and prints a banner) before that happens.
_NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
if (_NODE_BIN / "node").exists():
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from stacks.build import build_app, config_of, create_app, read_cdk_json_context  # noqa: E402
from stacks.stage import SageStackStage  # noqa: E402

ENVIRONMENTS = ("dev", "test", "prod")
STACK_IDS = ("Data", "Network", "Iam", "DevEnvironment")


@dataclass
class Synth:
    """The synthesized app: stages by environment, the cloud assembly and cached templates."""

    app: App
    stages: dict[str, SageStackStage]
    outdir: Path
    _templates: dict[tuple[str, str], Template] = field(default_factory=dict)

    def stack(self, env: str, stack_id: str) -> Stack:
        child = self.stages[env].node.find_child(stack_id)
        assert isinstance(child, Stack)
        return child

    def template(self, env: str, stack_id: str) -> Template:
        """Template.from_stack reuses the existing assembly (Annotations.from_stack would not)."""
        key = (env, stack_id)
        if key not in self._templates:
            self._templates[key] = Template.from_stack(self.stack(env, stack_id))
        return self._templates[key]

    def template_json(self, env: str, stack_id: str) -> dict[str, Any]:
        return self.template(env, stack_id).to_json()  # type: ignore[no-any-return]

    def resources(self, env: str, stack_id: str, resource_type: str) -> dict[str, Any]:
        resources = self.template_json(env, stack_id)["Resources"]
        return {k: v for k, v in resources.items() if v["Type"] == resource_type}

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.rglob("*.template.json"))

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())  # type: ignore[no-any-return]


def synthesize(outdir: Path) -> tuple[App, list[SageStackStage]]:
    """Exactly what app.py does, into `outdir`."""
    app = create_app(context=read_cdk_json_context(), outdir=str(outdir))
    stages = build_app(config_of(app), app)
    app.synth()
    return app, stages


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stages = synthesize(outdir)
    return Synth(app=app, stages={s.config.name: s for s in stages}, outdir=outdir)


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    return read_cdk_json_context()
