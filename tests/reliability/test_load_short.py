"""A 3-second run of bench/load_soak.py against the session's server, so the benchmark's
generator, parsing and checks keep working. The 60 s soak itself is `python -m bench.load_soak`
(a benchmark: its RSS verdict needs the full minute, not three seconds)."""

from __future__ import annotations

import pytest

from bench import load_soak
from sagestack.serving.endpoint import LocalEndpoint

from .conftest import NUM_FEATURES, CaseCounter

pytestmark = pytest.mark.slow  # a load soak


def test_a_short_soak_has_no_errors_and_keeps_the_workers(
    endpoint: LocalEndpoint, case_counter: CaseCounter, monkeypatch
) -> None:
    # The session's model has NUM_FEATURES features; the benchmark's has its own 20.
    monkeypatch.setattr(load_soak, "NUM_FEATURES", NUM_FEATURES)
    result = load_soak.soak(
        endpoint, duration_s=3, warmup_s=1, connections=4, threads=1, log=lambda _: None
    )
    case_counter.record(
        "load: 3 s soak",
        result.load.requests,
        generator=result.load.generator,
        errors=result.load.errors,
        p50_ms=result.load.p50_ms,
        p99_ms=result.load.p99_ms,
    )
    assert result.load.errors == 0, result.load.error_detail
    assert result.load.requests > 100
    assert 0 < result.load.p50_ms <= result.load.p99_ms
    assert not result.workers_restarted and result.ping_ok
    assert len(result.workers_before) == 2
