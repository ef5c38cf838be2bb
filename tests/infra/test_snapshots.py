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
# The dev box's logical id ends in a hash of its user data (user_data_causes_replacement), which
# embeds the SDK wheel's asset hash.
_USER_DATA_HASH = re.compile(r"\b(DevBox[0-9A-F]{8})[0-9a-f]{16}\b")


def normalize(template: dict[str, Any]) -> Any:
    """Asset hashes change with every SDK or CDK-asset edit; what points at them is what matters."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    return json.loads(_USER_DATA_HASH.sub(r"\1<user-data-hash>", text))


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_id", STACK_IDS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stack_snapshot(
    synth: Synth, json_snapshot: SnapshotAssertion, env: str, stack_id: str
) -> None:
    assert normalize(synth.template_json(env, stack_id)) == json_snapshot
