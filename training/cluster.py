"""Multi-host training with XGBoost's collective: tracker on the first sorted host, one worker each.

Mirrors what the SageMaker XGBoost container does (aws/sagemaker-xgboost-container, `distributed.py`
and `algorithm_mode/train.py`) with the xgboost 3.x API
(`xgboost.tracker.RabitTracker` + `xgboost.collective.CommunicatorContext`), without importing
the container's helper, so the script runs the same locally.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from collections.abc import Iterator

from job_errors import UserError
from sm_constants import HOST_ADDRESSES_ENV
from xgboost import collective
from xgboost.tracker import RabitTracker


def resolve_host(host: str, timeout_s: float) -> str:
    """Hosts' DNS names appear a little after the containers start; retry like the container.

    The local runtime runs every "host" on loopback and maps the names in HOST_ADDRESSES_ENV,
    since algo-1..N resolve nowhere outside SageMaker's network.
    """
    addresses = json.loads(os.environ.get(HOST_ADDRESSES_ENV) or "{}")
    if host in addresses:
        return str(addresses[host])
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return socket.gethostbyname(host)
        except socket.gaierror:
            if time.monotonic() > deadline:
                raise UserError(
                    f"Host {host!r} did not resolve within {timeout_s:.0f} s; "
                    "check the job's network configuration"
                ) from None
            time.sleep(1)


@contextlib.contextmanager
def collective_context(
    hosts: list[str], current_host: str, port: int, timeout_s: int
) -> Iterator[int]:
    """Join the collective as rank = index of this host in sorted(hosts); yields the rank.

    The first sorted host also runs the tracker. DMatrix objects must be built inside this
    context so XGBoost agrees on the number of features across workers.
    """
    ordered = sorted(hosts)
    rank = ordered.index(current_host)
    master_ip = resolve_host(ordered[0], timeout_s)
    tracker = None
    if rank == 0:
        tracker = RabitTracker(
            n_workers=len(ordered), host_ip=master_ip, port=port, sortby="task", timeout=timeout_s
        )
        tracker.start()
    args: dict[str, str | int] = {
        "dmlc_tracker_uri": master_ip,
        "dmlc_tracker_port": port,
        "dmlc_task_id": str(rank),
        "dmlc_timeout": max(timeout_s, 30),
        "dmlc_retry": 3,
    }
    deadline = time.monotonic() + timeout_s
    stack = contextlib.ExitStack()
    while True:  # workers may start before the tracker listens
        try:
            stack.enter_context(collective.CommunicatorContext(**args))
            break
        except Exception as e:  # noqa: BLE001 - XGBoostError, or socket errors surfaced by it
            if time.monotonic() > deadline:
                raise UserError(
                    f"Could not join the training cluster at {master_ip}:{port} within "
                    f"{timeout_s} s: {str(e).splitlines()[0]}"
                ) from e
            time.sleep(1)
    try:
        with stack:
            yield collective.get_rank()
    finally:
        if tracker is not None:
            tracker.wait_for(timeout=timeout_s)
