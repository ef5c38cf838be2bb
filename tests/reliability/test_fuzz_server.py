"""Property-based fuzzing of the running local server (two workers, the repository's
inference.py): random bodies, Content-Types, Accepts and sizes past 6 MiB, on the container
route and the runtime API route. Never a 5xx for client input, /ping keeps answering within
SageMaker's 2 s health-check timeout, and no worker dies."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagestack.serving.endpoint import LocalEndpoint

from .conftest import FUZZ, MAX_PAYLOAD_BYTES, CaseCounter
from .http_client import Client
from .strategies import client_requests

pytestmark = pytest.mark.slow  # fuzzing: hundreds of generated inputs

PING_TIMEOUT_S = 2.0  # SageMaker's health check gives /ping two seconds


def _headers(content_type: str | None, accept: str | None) -> dict[str, str]:
    headers = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if accept is not None:
        headers["Accept"] = accept
    return headers


def _check(route: str, status: int, body: bytes, size: int) -> str:
    if route == "container":
        assert status < 500, f"{status} {body[:300]!r}"
        assert status in (200, 400, 406, 413, 415), f"{status} {body[:300]!r}"
        if size > MAX_PAYLOAD_BYTES:
            assert status == 413, status
        return str(status)
    # The runtime API wraps a container's non-2xx answer in ModelError (424) with the
    # original status; an oversized body is the service's own ValidationError (400).
    if status == 424:
        original = json.loads(body)["OriginalStatusCode"]
        assert original < 500, body[:300]
        return f"424/{original}"
    assert status in (200, 400), f"{status} {body[:300]!r}"
    if size > MAX_PAYLOAD_BYTES:
        assert status == 400, status
    return str(status)


def test_the_server_answers_client_input_with_2xx_or_4xx_and_keeps_pinging(
    endpoint: LocalEndpoint, case_counter: CaseCounter
) -> None:
    client = Client(endpoint)
    workers = sorted(endpoint.worker_pids())
    outcomes: dict[str, int] = {}
    slowest_ping = 0.0

    @FUZZ
    @given(
        request=client_requests(),
        route=st.sampled_from(["container", "container", "runtime"]),
        chunked=st.booleans(),
    )
    def prop(request: tuple[bytes, str | None, str | None], route: str, chunked: bool) -> None:
        nonlocal slowest_ping
        body, content_type, accept = request
        path = "/invocations" if route == "container" else "/endpoints/fuzz/invocations"
        status, _, answer, _ = client.request(
            "POST", path, body, _headers(content_type, accept), chunked=chunked
        )
        outcome = _check(route, status, answer, len(body))
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        ping_status, _, ping_body, elapsed = client.request("GET", "/ping")
        assert ping_status == 200 and ping_body == b""
        assert elapsed < PING_TIMEOUT_S, f"/ping took {elapsed:.2f} s"
        slowest_ping = max(slowest_ping, elapsed)

    try:
        prop()
    finally:  # counted whether or not a case failed
        client.close()
        case_counter.record(
            "server: random client input",
            sum(outcomes.values()),
            outcomes=outcomes,
            slowest_ping_s=round(slowest_ping, 3),
        )
    assert sorted(endpoint.worker_pids()) == workers, "a worker died (or was restarted)"
    assert endpoint.running() and not endpoint.errors()


def _methods_and_paths() -> Iterator[tuple[str, str]]:
    for method in ("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"):
        yield method, "/invocations"
    for path in ("/", "/ping/", "/invocations/x", "/endpoints//invocations", "/%00", "/.." * 20):
        yield "POST", path
    yield "POST", "/ping"
    yield "GET", "/execution-parameters"


def test_wrong_methods_and_paths_get_4xx(
    endpoint: LocalEndpoint, case_counter: CaseCounter
) -> None:
    client = Client(endpoint)
    cases = 0
    try:
        for method, path in _methods_and_paths():
            status, _, body, _ = client.request(
                method, path, b"1,2,3,4" if method != "GET" else None
            )
            assert status < 500, (method, path, status, body[:200])
            cases += 1
        assert client.request("GET", "/ping")[0] == 200
    finally:
        client.close()
    case_counter.record("server: methods and paths", cases)
