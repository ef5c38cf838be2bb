"""Infrastructure test fixtures: the whole app (`synth`) and the construct test doubles
(`synthesized`, see doubles.py), each synthesized once per test session.

Under pytest-xdist the workers share one synth of the app: the first takes a file lock and
synthesizes, the others wait and read the same cloud assembly. Tests read templates from that
assembly (`Template.from_json`), so no test needs the in-memory App or synthesizes again.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
from synth_once import synthesized_once

REPO_ROOT = Path(__file__).resolve().parents[2]

# jsii starts Node on the first aws_cdk import: point it at the pinned Node 24 from
# node_modules (the system's Node 20 is end of life and prints a banner) before that happens.
_NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
if (_NODE_BIN / "node").exists():
    os.environ["PATH"] = f"{_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from aws_cdk.assertions import Template  # noqa: E402

from stacks.build import build_app, config_of, create_app, read_cdk_json_context  # noqa: E402
from stacks.config import EnvironmentConfig, load_config  # noqa: E402

from .doubles import Synthesized, synthesize_doubles  # noqa: E402
from .templates import resources_of  # noqa: E402

ENVIRONMENTS = ("dev", "test", "prod")
STACK_IDS = ("Data", "Network", "Iam", "DevEnvironment")
"""The foundation's stacks, in every environment."""
ALL_STACK_IDS = {
    "dev": (*STACK_IDS, "Training"),
    "test": (*STACK_IDS, "Training", "Serving"),  # only `test` names a model to serve
    "prod": (*STACK_IDS, "Training"),
}


def synthesize(outdir: Path) -> None:
    """Exactly what app.py does, into `outdir`."""
    app = create_app(context=read_cdk_json_context(), outdir=str(outdir))
    build_app(config_of(app), app)
    app.synth()


@dataclass
class Synth:
    """A synthesized cloud assembly, read per environment (Stage) and stack id."""

    outdir: Path
    _templates: dict[tuple[str, str], Template] = field(default_factory=dict)

    @cached_property
    def _stacks(self) -> dict[tuple[str, str], dict[str, Any]]:
        stacks = {}
        for env in ENVIRONMENTS:
            stage_dir = self.outdir / f"assembly-SageStack-{env}"
            manifest = json.loads((stage_dir / "manifest.json").read_text())
            for artifact in manifest["artifacts"].values():
                if artifact["type"] == "aws:cloudformation:stack":
                    stack_id = artifact["displayName"].split("/")[-1]
                    properties = dict(artifact["properties"])
                    properties["template"] = json.loads(
                        (stage_dir / properties["templateFile"]).read_text()
                    )
                    stacks[(env, stack_id)] = properties
        return stacks

    @cached_property
    def configs(self) -> dict[str, EnvironmentConfig]:
        config = load_config(read_cdk_json_context())
        return {env.name: env for env in config.environments}

    def stack_properties(self, env: str, stack_id: str) -> dict[str, Any]:
        """The stack's cloud-assembly properties: terminationProtection, tags, templateFile."""
        return self._stacks[(env, stack_id)]

    def template_json(self, env: str, stack_id: str) -> dict[str, Any]:
        return self._stacks[(env, stack_id)]["template"]  # type: ignore[no-any-return]

    def template(self, env: str, stack_id: str) -> Template:
        key = (env, stack_id)
        if key not in self._templates:
            self._templates[key] = Template.from_json(self.template_json(env, stack_id))
        return self._templates[key]

    def resources(self, env: str, stack_id: str, resource_type: str) -> dict[str, Any]:
        return resources_of(self.template_json(env, stack_id), resource_type)

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth(outdir=synthesized_once(tmp_path_factory.getbasetemp(), synthesize))


@pytest.fixture(scope="session")
def cdk_context() -> dict[str, Any]:
    return read_cdk_json_context()


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The ML constructs beside foundation doubles, with cdk-nag; one synth per worker."""
    return synthesize_doubles(tmp_path_factory.mktemp("cdk.out"))
