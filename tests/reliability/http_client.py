"""A minimal HTTP/1.1 client for the local server: headers go out exactly as given (no
defaults added), keep-alive by default, chunked bodies on request."""

from __future__ import annotations

import http.client
import time
from typing import Any

from sagestack.serving.endpoint import LocalEndpoint


class Client:
    """One keep-alive connection, reopened after the server closes it; headers sent verbatim."""

    def __init__(self, endpoint: LocalEndpoint, retry: bool = True, timeout_s: float = 30) -> None:
        self.endpoint = endpoint
        self.retry = retry
        self.timeout_s = timeout_s
        self.conn: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> tuple[int, dict[str, str], bytes, float]:
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(
                    self.endpoint.host, self.endpoint.port, timeout=self.timeout_s
                )
            started = time.monotonic()
            try:
                payload: Any = body
                if chunked and body is not None:
                    payload = iter([body[i : i + 65536] for i in range(0, len(body), 65536)])
                self.conn.request(
                    method, path, body=payload, headers=headers or {}, encode_chunked=chunked
                )
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.monotonic() - started
                if response.getheader("connection", "").lower() == "close":
                    self.close()
                return response.status, dict(response.getheaders()), data, elapsed
            except (ConnectionError, http.client.HTTPException, OSError):
                # A keep-alive connection the server closed: one fresh retry, unless the
                # caller counts every failure itself.
                self.close()
                if attempt == 2 or not self.retry:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
