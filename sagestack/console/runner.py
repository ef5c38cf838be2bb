"""Runs one console-created training job in its own process, through run_training_job.

``python -m sagestack.console.runner NAME`` reads ``.sagestack/console/jobs/NAME.json`` (the
request the console wrote), builds the same :class:`TrainingJobSpec` the CLI builds, and runs
it with :func:`run_training_job`; it records the secondary statuses it observes and the result.
The console starts it detached, so the job outlives a console restart.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from sagestack.console import custom_models, store
from sagestack.local.channels import Channel, channel_source
from sagestack.local.job_spec import TrainingJobSpec
from sagestack.local.training import TrainingJobError, run_training_job

_POLL_S = 0.2


def spec_from_request(request: dict[str, Any]) -> TrainingJobSpec:
    """The console's request -> the runtime's job spec (what ``sagestack train`` builds)."""
    inputs = {
        name: Channel(
            source=channel_source(channel["path"]), content_type=channel.get("content_type")
        )
        for name, channel in request["channels"].items()
    }
    hyperparameters = dict(request.get("hyperparameters") or {})
    code: dict[str, Any] = {}
    if request.get("model"):  # a user's Model subclass: the SDK's generic entry point
        code = custom_models.training_code(request["model"])
        hyperparameters.update(code.pop("extra_hyperparameters"))
    return TrainingJobSpec(
        inputs=inputs,
        hyperparameters=hyperparameters,
        instance_count=int(request.get("instance_count", 1)),
        job_name=request["job_name"],
        max_runtime_s=request.get("max_runtime_s"),
        **code,
    )


class _Recorder:
    """Serialises record updates from the watcher thread and the main thread."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = store.record_path(name)
        self.lock = threading.Lock()

    def update(self, **changes: Any) -> None:
        with self.lock:
            record = store.read_json(self.path) or {}
            record.update(changes)
            store.write_json(self.path, record)

    def step(self, status: str) -> None:
        with self.lock:
            record = store.read_json(self.path) or {}
            steps = record.setdefault("timeline", [])
            if not steps or steps[-1]["status"] != status:
                steps.append({"status": status, "time": time.time()})
                store.write_json(self.path, record)


def _watch(recorder: _Recorder, done: threading.Event) -> None:
    """Secondary statuses as the files show them: job dir laid out, log started, packing."""
    name = recorder.name
    job_dir = store.jobs_dir() / name
    seen = "Starting"
    while not done.wait(_POLL_S):
        if seen == "Starting" and (job_dir / "logs").exists():
            seen = "Downloading"
            recorder.step(seen)
        if seen == "Downloading" and store.log_path(name).exists():
            seen = "Training"
            recorder.step(seen)
        if seen == "Training" and store.artifacts_dir(name).exists():
            seen = "Uploading"
            recorder.step(seen)


def run(name: str) -> int:
    recorder = _Recorder(name)
    request = store.read_json(recorder.path)
    if request is None:
        print(f"no console record for job {name}", file=sys.stderr)
        return 2
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(recorder, done), daemon=True)
    watcher.start()
    outcome: dict[str, Any]
    try:
        spec = spec_from_request(request)
        if request.get("model"):  # Show code's --source-dir
            recorder.update(source_dir=str(spec.source_dir))
        result = run_training_job(spec, stream_logs=False)
    except TrainingJobError as exc:
        result = exc.result
    except KeyboardInterrupt:  # SIGTERM from Stop: run_training_job stopped the hosts
        outcome = {"status": store.STOPPED, "failure_reason": "Stopped from the console."}
        result = None
    except Exception as exc:  # bad data found at layout time, missing files: a user error
        outcome = {"status": store.FAILED, "failure_reason": f"{type(exc).__name__}: {exc}"}
        result = None
    done.set()
    watcher.join()
    if result is not None:
        outcome = {
            "status": result.status,
            "failure_reason": result.failure_reason,
            "metrics": result.metrics,
            "model_artifacts": str(result.model_artifacts) if result.model_artifacts else None,
            "duration_s": result.duration_s,
        }
    recorder.update(ended=time.time(), **outcome)
    recorder.step(outcome["status"])
    return 0 if outcome["status"] == store.COMPLETED else 1


def main() -> None:
    sys.exit(run(sys.argv[1]))


if __name__ == "__main__":
    main()
