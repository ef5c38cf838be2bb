"""Stops this SageMaker notebook instance once Jupyter has been idle long enough (systemd timer)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from typing import Any

# Runs on the instance with its system Python (3.9 on AL2023): standard library only.
JUPYTER_URL = "https://localhost:8443"
RESOURCE_METADATA = "/opt/ml/metadata/resource-metadata.json"


def parse_time(text: str) -> dt.datetime:
    """Jupyter's ISO 8601 timestamps end in 'Z', which fromisoformat accepts only from 3.11."""
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def last_activity(status: dict[str, Any], kernels: Sequence[dict[str, Any]]) -> dt.datetime | None:
    """When Jupyter was last used, or None while any kernel is executing (never idle then)."""
    if any(kernel.get("execution_state") == "busy" for kernel in kernels):
        return None
    times = [parse_time(status["last_activity"])]
    times += [parse_time(k["last_activity"]) for k in kernels if k.get("last_activity")]
    return max(times)


def should_stop(
    status: dict[str, Any],
    kernels: Sequence[dict[str, Any]],
    now: dt.datetime,
    idle_minutes: int,
) -> bool:
    last = last_activity(status, kernels)
    return last is not None and now - last >= dt.timedelta(minutes=idle_minutes)


def _get_json(path: str) -> Any:
    # The instance's own Jupyter server, on loopback, with a self-signed certificate.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(JUPYTER_URL + path, context=context, timeout=10) as response:
        return json.load(response)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle-minutes", type=int, required=True)
    parser.add_argument("--region", required=True)
    args, _ = parser.parse_known_args(argv)
    try:
        status, kernels = _get_json("/api/status"), _get_json("/api/kernels")
    except (OSError, ValueError) as error:
        print(f"Jupyter not reachable yet, not stopping: {error}")
        return 0
    now = dt.datetime.now(dt.timezone.utc)  # noqa: UP017 (UTC alias is 3.11+; instance has 3.9)
    if not should_stop(status, kernels, now, args.idle_minutes):
        return 0
    with open(RESOURCE_METADATA) as metadata:
        name = json.load(metadata)["ResourceName"]
    print(f"Idle for {args.idle_minutes} minutes or more: stopping notebook instance {name}")
    command = ["aws", "sagemaker", "stop-notebook-instance", "--notebook-instance-name", name]
    subprocess.run([*command, "--region", args.region], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
