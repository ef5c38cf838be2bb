"""Least-connections accept across worker processes that share one listening socket.

Why not SO_REUSEPORT: the kernel hashes each connection to a worker by its address, so with
few keep-alive clients (a load test at concurrency 2, a batch transform with 2 concurrent
transforms) both land on one worker half of the time and throughput halves. Why not a plain
shared socket either: an event loop that wakes on it accepts everything pending, so one
worker can take every connection of a burst.

Here every worker publishes its open-connection count on a small shared board (a memfd the
supervisor creates), and on a readable listening socket a worker accepts one connection at
once only if no other live worker has fewer; otherwise it steps back for a moment so the
less-loaded worker takes it, and accepts itself if that worker is busy (blocked in a long
request, or gone). Accepted connections go straight to uvicorn's protocol: no proxy hop.

Keep-alive connections stay where they landed, so connections that arrive together while one
worker is busy with a long request can still end up on the other. shed_when_unbalanced()
repairs that: a worker holding SHED_EXCESS more connections than the least-loaded one answers
with ``Connection: close``, and the client's reconnect lands on the idle worker.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import socket
import struct
from collections.abc import Callable
from typing import Any

# Slot value of a worker that is not serving (dead or restarting): never the least loaded.
ABSENT = 1 << 30
# How long a worker steps back per connection it has above the least-loaded worker. Long
# enough for an idle worker to be scheduled and accept, short against any request.
STEP_BACK_S = 0.002
_SLOT = struct.Struct("=i")
SHED_EXCESS = 2  # 2, not 1: an odd number of connections can never split evenly


class LoadBoard:
    """Open-connection counts of every worker, one int32 slot each, in shared memory."""

    def __init__(self, fd: int, workers: int) -> None:
        self.fd = fd
        self.workers = workers
        self._map = mmap.mmap(fd, workers * _SLOT.size)

    @classmethod
    def create(cls, workers: int) -> LoadBoard:
        """A fresh board (all slots ABSENT) whose fd the supervisor passes to its workers."""
        fd = os.memfd_create("sagestack-load", 0)
        os.ftruncate(fd, workers * _SLOT.size)
        board = cls(fd, workers)
        for index in range(workers):
            board.set(index, ABSENT)
        return board

    def set(self, index: int, value: int) -> None:
        _SLOT.pack_into(self._map, index * _SLOT.size, value)

    def get(self, index: int) -> int:
        return int(_SLOT.unpack_from(self._map, index * _SLOT.size)[0])

    def least_other(self, index: int) -> int:
        """The lowest count among the other workers (ABSENT if there are none)."""
        others = [self.get(i) for i in range(self.workers) if i != index]
        return min(others, default=ABSENT)

    def close(self) -> None:
        self._map.close()
        os.close(self.fd)


def counted_protocol(base: type, on_change: Callable[[int], None]) -> type:
    """uvicorn's HTTP protocol class, reporting +1/-1 as connections open and close."""

    class CountedProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            on_change(1)
            super().connection_made(transport)

        def connection_lost(self, exc: Exception | None) -> None:
            on_change(-1)
            super().connection_lost(exc)

    return CountedProtocol


class BalancedAcceptor:
    """Accepts connections for one worker from the shared listening socket."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sock: socket.socket,
        board: LoadBoard,
        index: int,
        protocol_factory: Callable[[], asyncio.Protocol] | None = None,
    ) -> None:
        self.loop = loop
        self.sock = sock
        self.board = board
        self.index = index
        # uvicorn's protocol; may be set after construction (the server needs the acceptor
        # first, for shed_when_unbalanced), but before start().
        self.protocol_factory = protocol_factory
        self.open = 0  # connections this worker holds, including ones being handed over
        self._reading = False
        self._stopped = False
        self._handovers: set[asyncio.Task[None]] = set()  # strong refs until they finish

    def excess(self) -> int:
        """How many more connections this worker holds than the least-loaded other one."""
        return self.open - self.board.least_other(self.index)

    def change(self, delta: int) -> None:
        self.open += delta
        self.board.set(self.index, self.open)

    def start(self) -> None:
        assert self.protocol_factory is not None, "set protocol_factory before start()"
        self.board.set(self.index, self.open)
        self._resume()

    def stop(self) -> None:
        """Stop accepting (shutdown); the other workers keep draining the shared queue."""
        self._stopped = True
        self._pause()
        self.board.set(self.index, ABSENT)

    def _resume(self) -> None:
        if not self._reading and not self._stopped:
            self.loop.add_reader(self.sock.fileno(), self._on_readable)
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self.loop.remove_reader(self.sock.fileno())
            self._reading = False

    def _on_readable(self) -> None:
        excess = self.excess()
        if excess <= 0:
            self._accept_one()
            return
        # Another worker has fewer connections: give it the chance to take this one.
        self._pause()
        self.loop.call_later(STEP_BACK_S * min(excess, 10), self._after_step_back)

    def _after_step_back(self) -> None:
        if self._stopped:
            return
        self._accept_one()
        self._resume()

    def _accept_one(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another worker took it
        except OSError:
            return  # e.g. EMFILE: the connection stays queued for a worker that can take it
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.change(1)  # counted now, so a burst spreads before the handover completes
        task = self.loop.create_task(self._hand_over(conn))
        self._handovers.add(task)
        task.add_done_callback(self._handovers.discard)

    async def _hand_over(self, conn: socket.socket) -> None:
        try:
            assert self.protocol_factory is not None
            await self.loop.connect_accepted_socket(self.protocol_factory, sock=conn)
        except OSError:
            conn.close()
        finally:
            self.change(-1)  # the protocol counts itself from connection_made on


def shed_when_unbalanced(app: Any, acceptor: BalancedAcceptor) -> Any:
    """Wrap an ASGI app: while this worker holds SHED_EXCESS or more connections above the
    least-loaded worker, responses carry ``Connection: close`` (uvicorn then closes the
    connection after the response, and a keep-alive client simply reconnects)."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or acceptor.excess() < SHED_EXCESS:
            await app(scope, receive, send)
            return

        async def send_closing(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"connection", b"close")]
                message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_closing)

    return wrapped
