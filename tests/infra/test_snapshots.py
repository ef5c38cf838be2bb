"""One normalized snapshot per stack: review template changes as diffs (asset hashes masked).

The app's own stacks as app.py builds them from cdk.json, and the construct stacks of
doubles.py. Snapshots live in __snapshots__/test_snapshots/<test name>[<id>].json (syrupy).
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from .conftest import ENVIRONMENTS, STACK_IDS, Synth
from .doubles import CONSTRUCT_STACK_IDS, Synthesized
from .templates import normalize

# Every foundation stack in every environment; Training and Serving in one environment each
# (dev trains; only test names a model to serve).
APP_STACKS = [
    *((env, stack_id) for env in ENVIRONMENTS for stack_id in STACK_IDS),
    ("dev", "Training"),
    ("test", "Serving"),
]


@pytest.fixture
def json_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize(("env", "stack_id"), APP_STACKS, ids=[f"{e}-{s}" for e, s in APP_STACKS])
def test_stack_snapshot(
    synth: Synth, json_snapshot: SnapshotAssertion, env: str, stack_id: str
) -> None:
    assert normalize(synth.template_json(env, stack_id)) == json_snapshot


@pytest.mark.parametrize("stack_id", CONSTRUCT_STACK_IDS)
def test_construct_snapshot(
    synthesized: Synthesized, json_snapshot: SnapshotAssertion, stack_id: str
) -> None:
    assert normalize(synthesized.templates[stack_id]) == json_snapshot
