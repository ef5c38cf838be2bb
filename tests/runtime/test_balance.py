"""Connection balancing across workers: least connections first, and shedding a lopsided one."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sagestack.serving.balance import ABSENT, SHED_EXCESS, LoadBoard, shed_when_unbalanced
from sagestack.serving.endpoint import LocalEndpoint, start_local_endpoint


def _worker_of(connection: http.client.HTTPConnection) -> str:
    connection.request("POST", "/invocations", body=b"pid", headers={"Content-Type": "text/csv"})
    response = connection.getresponse()
    assert response.status == 200
    return response.read().decode()


@pytest.fixture(scope="module")
def idle_endpoint(model_tar: Path, inference_code: Path) -> Iterator[LocalEndpoint]:
    """A two-worker server of its own: connections left open by other tests would count."""
    with start_local_endpoint(model_tar, code_dir=inference_code, workers=2) as running:
        yield running


@pytest.mark.parametrize("count", [2])
def test_keep_alive_connections_spread_evenly_over_the_workers(
    idle_endpoint: LocalEndpoint, count: int
) -> None:
    # With SO_REUSEPORT hashing, two connections shared one worker half of the time.
    endpoint = idle_endpoint
    connections = [
        http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=10) for _ in range(count)
    ]
    try:
        for connection in connections:
            connection.connect()
        workers = [_worker_of(connection) for connection in connections]
        # Each connection stays on its worker.
        assert [_worker_of(connection) for connection in connections] == workers
    finally:
        for connection in connections:
            connection.close()
    per_worker = [workers.count(pid) for pid in set(workers)]
    # Closed connections of an earlier case may still be on the board for a moment.
    assert len(per_worker) == 2 and max(per_worker) - min(per_worker) <= count // 4, workers


def test_the_board_ignores_absent_workers() -> None:
    board = LoadBoard.create(3)
    try:
        assert board.least_other(0) == ABSENT
        board.set(1, 4)
        board.set(2, 1)
        assert board.least_other(0) == 1
        assert board.least_other(2) == 4
    finally:
        board.close()


class _Acceptor:
    def __init__(self, excess: int) -> None:
        self._excess = excess

    def excess(self) -> int:
        return self._excess


def _headers_sent(excess: int) -> list[tuple[bytes, bytes]]:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    wrapped = shed_when_unbalanced(app, _Acceptor(excess))
    asyncio.run(wrapped({"type": "http"}, None, send))
    return list(sent[0]["headers"])


def test_a_lopsided_worker_asks_the_client_to_reconnect() -> None:
    assert _headers_sent(SHED_EXCESS) == [(b"connection", b"close")]
    assert _headers_sent(SHED_EXCESS - 1) == []
