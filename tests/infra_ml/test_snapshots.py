"""One normalized snapshot per construct stack: review template changes as diffs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from .conftest import Synthesized

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalize(template: dict[str, Any]) -> Any:
    """Asset hashes change with every edit of the packaged code; what points at them matters."""
    return json.loads(_ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True)))


@pytest.mark.parametrize(
    "stack_id", ["TrainingScript", "TrainingTuned", "Serving", "ServingServerless"]
)
def test_stack_snapshot(
    synthesized: Synthesized, snapshot: SnapshotAssertion, stack_id: str
) -> None:
    assert normalize(synthesized.templates[stack_id]) == snapshot.use_extension(
        JSONSnapshotExtension
    )
