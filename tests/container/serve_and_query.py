"""Inside the sandbox: start the image's ``serve``, wait for /ping, send the requests, stop it.

Runs with the toolkit venv's Python and the standard library only. Prints one JSON document:
whether /ping answered, each response's status, content type and body, and the server's output.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

BASE = "http://127.0.0.1:8080"


def _call(path: str, body: bytes | None = None, headers: dict | None = None) -> dict:
    request = urllib.request.Request(BASE + path, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return {
                "status": response.status,
                "content_type": response.headers.get("Content-Type"),
                "body": response.read().decode(),
            }
    except urllib.error.HTTPError as error:
        return {
            "status": error.code,
            "content_type": error.headers.get("Content-Type"),
            "body": error.read().decode(errors="replace"),
        }


def _body(item: dict) -> bytes | None:
    """None makes urllib send a GET."""
    return None if item.get("body") is None else item["body"].encode()


def main() -> None:
    requests = json.loads(sys.argv[1])
    startup_s = float(sys.argv[2])
    server = subprocess.Popen(["serve"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    result: dict = {"ping": None, "responses": []}
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline and server.poll() is None:
        try:
            result["ping"] = _call("/ping")["status"]
            break
        except OSError:
            time.sleep(0.2)
    if result["ping"] == 200:
        for item in requests:
            result["responses"].append(_call(item["path"], _body(item), item.get("headers")))
    result["server_exited"] = server.poll()
    if server.poll() is None:
        server.terminate()
    output, _ = server.communicate(timeout=60)
    result["server_output"] = output.decode(errors="replace")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
