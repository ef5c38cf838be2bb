"""One normalized snapshot per stack: review template changes as diffs (asset hashes masked)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from .conftest import ENVIRONMENTS, STACK_IDS, Synth

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalize(template: dict[str, Any]) -> Any:
    """Asset hashes change with every SDK or CDK-asset edit; what points at them is what matters."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_id", STACK_IDS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stack_snapshot(synth: Synth, json_snapshot: SnapshotAssertion, env: str, stack_id: str) -> None:
    assert normalize(synth.template_json(env, stack_id)) == json_snapshot
