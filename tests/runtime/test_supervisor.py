"""The serving supervisor: restarts, giving up instead of crash-looping, graceful shutdown,
and clear start-up errors."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

import pytest
import requests
from waiting import process_gone, wait_until

from sagestack.local.archive import create_tar_gz
from sagestack.serving.endpoint import start_local_endpoint
from sagestack.serving.supervisor import StartupError


def _pid_of_a_worker(url: str) -> int:
    return int(requests.post(f"{url}/invocations", data="pid", timeout=5).text)


def test_a_killed_worker_is_restarted(model_tar: Path, inference_code: Path) -> None:
    with start_local_endpoint(
        model_tar, code_dir=inference_code, workers=2, restart_backoff_s=0.1
    ) as endpoint:
        before = endpoint.worker_pids()
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        wait_until(lambda: len(set(endpoint.worker_pids()) - set(before)) == 1, 15, "a new worker")
        wait_until(
            lambda: requests.get(f"{endpoint.url}/ping", timeout=2).status_code == 200,
            15,
            "/ping to answer 200",
        )
        # Every worker, including the new one, answers.
        seen = {_pid_of_a_worker(endpoint.url) for _ in range(40)}
        assert before[0] not in seen
        assert endpoint.running()


def test_gives_up_when_a_worker_keeps_failing_to_restart(
    tmp_path: Path, model_tar: Path, inference_code: Path
) -> None:
    marker = tmp_path / "fail-now"
    endpoint = start_local_endpoint(
        model_tar,
        code_dir=inference_code,
        workers=1,
        environment={"DUMMY_FAIL_MARKER": str(marker)},
        restart_backoff_s=0.05,
    )
    try:
        marker.touch()  # from now on model_fn fails
        os.kill(endpoint.worker_pids()[0], signal.SIGKILL)
        assert endpoint.wait(timeout_s=30) == 2
        (message,) = endpoint.errors()
        assert "failed to restart 3 times" in message
        assert "marker says fail" in message
    finally:
        endpoint.stop()


def test_sigterm_lets_in_flight_requests_finish(
    tmp_path: Path, model_tar: Path, inference_code: Path
) -> None:
    endpoint = start_local_endpoint(model_tar, code_dir=inference_code, workers=2)
    arrived = tmp_path / "arrived"
    responses: list[requests.Response] = []
    slow = threading.Thread(
        target=lambda: responses.append(
            requests.post(endpoint.invocations_url, data=f"sleep:1.0:{arrived}", timeout=10)
        )
    )
    slow.start()
    wait_until(arrived.exists, 15, "the request to reach transform_fn")
    workers = endpoint.worker_pids()
    assert endpoint.stop() == 0
    slow.join()
    assert responses[0].status_code == 200
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{endpoint.url}/ping", timeout=2)


def test_fails_at_start_up_on_a_corrupt_archive(tmp_path: Path, inference_code: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(StartupError, match="cannot read model archive"):
        start_local_endpoint(bad, code_dir=inference_code)


def test_fails_at_start_up_when_model_fn_fails(tmp_path: Path, inference_code: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "other-file").write_text("no weights.txt here")
    archive = create_tar_gz(tmp_path / "model", tmp_path / "model.tar.gz")
    with pytest.raises(StartupError, match=r"model_fn\(.*\) failed: FileNotFoundError"):
        start_local_endpoint(archive, code_dir=inference_code)


def test_fails_at_start_up_without_the_inference_module(model_tar: Path, tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="inference module 'inference' not found"):
        start_local_endpoint(model_tar, code_dir=tmp_path)


def test_fails_at_start_up_on_a_busy_port(model_tar: Path, inference_code: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StartupError, match=f"port {port} on 127.0.0.1 is already in use"):
            start_local_endpoint(model_tar, code_dir=inference_code, port=port)


def test_workers_exit_when_the_supervisor_is_killed(model_tar: Path, inference_code: Path) -> None:
    endpoint = start_local_endpoint(model_tar, code_dir=inference_code, workers=1)
    (worker,) = endpoint.worker_pids()
    os.kill(endpoint.pid, signal.SIGKILL)
    endpoint.wait(timeout_s=10)
    wait_until(lambda: process_gone(worker), 10, f"worker {worker} to exit")
    endpoint.stop()
