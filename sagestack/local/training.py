"""Runs a SageMaker training job on this machine: job dir, entry point per host, artifacts."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from sagestack import paths
from sagestack.local.archive import create_tar_gz
from sagestack.local.channels import as_channel, validate_channels
from sagestack.local.display import JobDisplay
from sagestack.local.environment import (
    LEGACY,
    LOG_LEVEL,
    TRACKER_PORT_ENV,
    JobContext,
    training_environment,
)
from sagestack.local.hosts import TAIL_LINES, HostRun, supervise
from sagestack.local.hyperparameters import (
    legacy_cmd_args,
    to_hyperparameters_json,
    v3_cmd_args,
)
from sagestack.local.job_spec import TrainingJobSpec, make_job_name
from sagestack.local.jobdir import HostDir, layout_host, resource_config
from sagestack.local.logs import LogMonitor, num_rounds
from sagestack.local.s3_input import fetch_channels

_MAX_HYPERPARAMETERS = 100
_MAX_HYPERPARAMETER_CHARS = 2500
_FAILURE_REASON_CHARS = 1024  # DescribeTrainingJob.FailureReason keeps the first 1024 chars
STATUS_FILE = "status.json"
# Inherited variables that would leak another job's contract into this one.
_CONTAINER_PREFIXES = ("SM_", "SAGEMAKER_", "TRAINING_JOB_")
_ACCOUNT = "000000000000"


class TrainingJobError(RuntimeError):
    """A local training job that did not complete; ``result`` holds the details."""

    def __init__(self, result: TrainingJobResult) -> None:
        self.result = result
        where = f" on {result.failed_host}" if result.failed_host else ""
        super().__init__(
            f"Training job {result.job_name} {result.status.lower()}{where} "
            f"(exit code {result.exit_code}): {result.failure_reason}\n"
            f"Job dir: {result.job_dir}"
        )


class TrainingJobStopped(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a local job: its hosts are stopped and it is recorded as
    Stopped; ``result`` holds the details. A KeyboardInterrupt, so the caller still stops."""

    def __init__(self, result: TrainingJobResult) -> None:
        self.result = result
        super().__init__(
            f"Training job {result.job_name} stopped (Ctrl-C); job dir: {result.job_dir}"
        )


@dataclass(frozen=True, kw_only=True)
class TrainingJobResult:
    """What DescribeTrainingJob would say about a local job, plus where its files are."""

    job_name: str
    status: str  # "Completed" | "Failed" | "Stopped"
    job_dir: Path
    exit_code: int
    failure_reason: str | None
    failed_host: str | None
    model_artifacts: Path | None  # model.tar.gz, only when Completed
    output_artifacts: Path | None  # output.tar.gz of output/data, whatever the status
    metrics: dict[str, float]
    hyperparameters: dict[str, str]
    launch: str
    hosts: list[str]
    command: list[str]
    log_files: dict[str, Path] = field(default_factory=dict)
    duration_s: float = 0.0

    @property
    def succeeded(self) -> bool:
        return self.status == "Completed"

    @property
    def model_dir(self) -> Path:
        """The first host's model dir (the one that was packed)."""
        return _host_dirs(self.job_dir, self.hosts, None)[0].model_dir


def entry_command(
    launch: str, entry_point: str, hyperparameters_json: Mapping[str, str]
) -> list[str]:
    """argv as the container runs the script: path B ``python -m``, path C ``python3 file``
    (or, for a ``.sh`` entry point, the v3 driver's ``/bin/sh -c``)."""
    if launch == LEGACY:
        module = Path(entry_point).stem
        return [sys.executable, "-m", module, *legacy_cmd_args(hyperparameters_json)]
    args = v3_cmd_args(hyperparameters_json)
    if entry_point.endswith(".sh"):
        # Quoted like the arguments: a file name is not shell syntax (spaces, ;, $(...)).
        script = shlex.quote(f"./{entry_point}")
        return ["/bin/sh", "-c", f"chmod +x {script} && {script} {shlex.join(args)}"]
    return [sys.executable, entry_point, *args]


def _host_names(count: int) -> list[str]:
    return [f"algo-{i}" for i in range(1, count + 1)]


def _host_dirs(job_dir: Path, hosts: list[str], checkpoint_dir: Path | None) -> list[HostDir]:
    """One /opt/ml view per host; a single host's view is the job dir itself."""
    ordered = sorted(hosts)
    if len(ordered) == 1:
        return [HostDir(job_dir, ordered[0], checkpoint_dir or job_dir / "checkpoints")]
    return [
        HostDir(job_dir / host, host, checkpoint_dir or job_dir / host / "checkpoints")
        for host in ordered
    ]


def _free_port_pair() -> int:
    """A loopback port p with p+1 free as well (best effort: nothing holds them afterwards)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free pair of loopback ports for the distributed tracker")


def _check_hyperparameters(values: Mapping[str, str]) -> None:
    if len(values) > _MAX_HYPERPARAMETERS:
        raise ValueError(f"at most {_MAX_HYPERPARAMETERS} hyperparameters, got {len(values)}")
    for key, value in values.items():
        if len(value) > _MAX_HYPERPARAMETER_CHARS:
            raise ValueError(
                f"hyperparameter {key!r} is {len(value)} chars; SageMaker allows "
                f"{_MAX_HYPERPARAMETER_CHARS}"
            )


def _base_environment(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CONTAINER_PREFIXES)}
    # Unbuffered so the log streams line by line, as CloudWatch shows it.
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def _region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def _read_failure(host_dir: HostDir) -> str:
    try:
        return host_dir.failure_file.read_text(encoding="utf-8", errors="replace").strip()
    except FileNotFoundError:
        return ""


def _toolkit_failure_text(run: HostRun, launch: str) -> str:
    """What the toolkit writes when the script left no failure file of its own."""
    tail = "".join(run.tail[-TAIL_LINES:]).rstrip()
    if launch == LEGACY:
        return f'ExecuteUserScriptError:\nCommand "{shlex.join(run.command)}"\n{tail}'.rstrip()
    return tail or "Training Execution failed."


def run_training_job(
    spec: TrainingJobSpec,
    *,
    stream_logs: bool = True,
    console: Console | None = None,
    raise_on_failure: bool = True,
) -> TrainingJobResult:
    """Run ``spec.entry_point`` from ``spec.source_dir`` the way a SageMaker training container
    would: a job dir laid out like /opt/ml per host, the entry point started per host, the
    artifacts packed.

    stream_logs: show the log and a progress bar on ``console`` while the job runs (and the
        download of s3:// channels before it).

    Raises TrainingJobError (carrying the result) when the job fails, unless
    ``raise_on_failure`` is False.
    """
    launch = spec.launch
    entry_point = spec.entry_point
    instance_count = spec.instance_count
    instance_type = spec.instance_type
    channels = {
        name: as_channel(v, content_type=spec.content_type) for name, v in spec.inputs.items()
    }
    validate_channels(channels)
    code = Path(spec.source_dir) if spec.source_dir is not None else paths.training_dir()
    if not (code / entry_point).is_file():
        raise FileNotFoundError(f"entry point {entry_point!r} not found in {code}")
    # The bundled scripts import sagestack.contract, which the Training stack's archive carries:
    # stage it the same way, so a local run proves that archive's layout.
    bundled = code.resolve() == paths.training_dir().resolve()
    extra_files = paths.contract_files() if bundled else {}

    name = spec.job_name or make_job_name(spec.base_job_name)
    state = paths.default_state_dir()
    job_dir = (Path(spec.jobs_root) if spec.jobs_root else state / "jobs").resolve() / name
    if job_dir.exists():
        raise FileExistsError(f"job dir {job_dir} exists; training job names must be unique")
    artifacts_dir = (Path(spec.output_path) if spec.output_path else state / "artifacts").resolve()
    artifacts_dir = artifacts_dir / name / "output"
    # s3:// data comes in before the job dir exists, so a channel that cannot be read leaves
    # nothing behind and the job name stays free.
    fetched = fetch_channels(channels, (console or Console()) if stream_logs else None)

    user_hps = dict(spec.hyperparameters)
    if launch == LEGACY:
        # What the v2 framework estimator adds for sagemaker-containers.
        user_hps |= {
            "sagemaker_program": entry_point,
            "sagemaker_submit_directory": str(code.resolve()),
            "sagemaker_container_log_level": LOG_LEVEL,
            "sagemaker_job_name": name,
            "sagemaker_region": _region(),
        }
    hps_json = to_hyperparameters_json(user_hps, style="v2" if launch == LEGACY else "v3")
    _check_hyperparameters(hps_json)

    hosts = _host_names(instance_count)
    persistent_checkpoints = Path(spec.checkpoint_dir).resolve() if spec.checkpoint_dir else None
    host_dirs = _host_dirs(job_dir, hosts, persistent_checkpoints)
    arn = f"arn:aws:sagemaker:{_region()}:{_ACCOUNT}:training-job/{name.lower()}"
    num_cpus = max(1, (os.cpu_count() or 1) // instance_count)
    base_env = _base_environment(spec.environment)
    if instance_count > 1:
        # Every "host" shares this machine: give the collective a free port pair (tracker
        # and training, like the container's 9099/9100) so concurrent jobs do not collide.
        base_env.setdefault(TRACKER_PORT_ENV, str(_free_port_pair()))
    command = entry_command(launch, entry_point, hps_json)
    (job_dir / "logs").mkdir(parents=True)

    runs: list[HostRun] = []
    for host_dir in host_dirs:
        input_data_config = layout_host(
            host_dir,
            hosts=hosts,
            instance_type=instance_type,
            channels=channels,
            hyperparameters_json=hps_json,
            source_dir=code,
            entry_point=entry_point,
            launch=launch,
            checkpoints=spec.checkpoints,
            extra_files=extra_files,
            channel_files=fetched,
        )
        ctx = JobContext(
            job_name=name,
            job_arn=arn,
            host_dir=host_dir,
            hosts=hosts,
            hyperparameters_json=hps_json,
            input_data_config=input_data_config,
            resource_config=resource_config(host_dir.host, hosts, instance_type),
            entry_point=entry_point,
            num_cpus=num_cpus,
        )
        cwd = host_dir.code_dir if launch == LEGACY else host_dir.channel_dir("code")
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=base_env | training_environment(ctx, launch),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, so stopping it reaches its children
        )
        runs.append(HostRun(host_dir, command, process, job_dir / "logs" / f"{host_dir.host}.log"))

    started = time.monotonic()
    monitor = LogMonitor(spec.metric_definitions)
    # Only the bundled XGBoost script is known to log one line per boosting round.
    xgboost = code.resolve() == paths.training_dir().resolve() and entry_point == "train.py"
    display = (
        JobDisplay(name, num_rounds(hps_json), console, count_rounds=xgboost)
        if stream_logs
        else None
    )
    interrupted = False
    try:
        stopped_reason = supervise(runs, monitor, display, spec.max_runtime_s, started)
    except KeyboardInterrupt:
        interrupted, stopped_reason = True, "Interrupted (Ctrl-C or SIGTERM to sagestack)"
    duration = time.monotonic() - started
    result = _finish(
        runs,
        name=name,
        job_dir=job_dir,
        artifacts_dir=artifacts_dir,
        launch=launch,
        hosts=hosts,
        hps_json=hps_json,
        monitor=monitor,
        stopped_reason=stopped_reason,
        duration=duration,
        raise_on_failure=raise_on_failure and not interrupted,
    )
    if interrupted:
        raise TrainingJobStopped(result)
    return result


def _finish(
    runs: Sequence[HostRun],
    *,
    name: str,
    job_dir: Path,
    artifacts_dir: Path,
    launch: str,
    hosts: list[str],
    hps_json: Mapping[str, str],
    monitor: LogMonitor,
    stopped_reason: str | None,
    duration: float,
    raise_on_failure: bool,
) -> TrainingJobResult:
    """Decide the status, write the toolkit's failure text if needed, pack the artifacts."""
    failed = next((r for r in runs if r.process.returncode != 0), None)
    failure_reason: str | None = None
    status = "Completed"
    if stopped_reason is not None:
        status, failure_reason = "Stopped", stopped_reason
    elif failed is not None:
        status = "Failed"
        text = _read_failure(failed.host_dir)
        if not text:
            text = _toolkit_failure_text(failed, launch)
            failed.host_dir.failure_file.write_text(text, encoding="utf-8")
        failure_reason = text[:_FAILURE_REASON_CHARS]

    master = runs[0].host_dir
    model_tar = None
    if status == "Completed":
        model_tar = create_tar_gz(master.model_dir, artifacts_dir / "model.tar.gz")
    output_tar = create_tar_gz(master.output_data_dir, artifacts_dir / "output.tar.gz")
    exit_code = failed.process.returncode if failed is not None else 0
    result = TrainingJobResult(
        job_name=name,
        status=status,
        job_dir=job_dir,
        exit_code=exit_code,
        failure_reason=failure_reason,
        failed_host=failed.host_dir.host if failed is not None else None,
        model_artifacts=model_tar,
        output_artifacts=output_tar,
        metrics=dict(monitor.metrics),
        hyperparameters=dict(hps_json),
        launch=launch,
        hosts=hosts,
        command=list(runs[0].command),
        log_files={r.host_dir.host: r.log_path for r in runs},
        duration_s=duration,
    )
    write_status(job_dir, status, failure_reason)
    if raise_on_failure and not result.succeeded:
        raise TrainingJobError(result)
    return result


def write_status(job_dir: Path, status: str, reason: str | None) -> None:
    """Record how a job ended (what DescribeTrainingJob's TrainingJobStatus would say), for
    ``sagestack status --local``."""
    record = {"TrainingJobStatus": status, "FailureReason": reason}
    (job_dir / STATUS_FILE).write_text(json.dumps(record), encoding="utf-8")


def read_status(job_dir: Path) -> str | None:
    """The status :func:`write_status` recorded; None for a job still running (or killed)."""
    try:
        return str(json.loads((job_dir / STATUS_FILE).read_text("utf-8"))["TrainingJobStatus"])
    except (OSError, ValueError, KeyError):
        return None


def read_log(result: TrainingJobResult, host: str = "algo-1") -> str:
    """The full log of one host (what CloudWatch would hold for its stream)."""
    return result.log_files[host].read_text(encoding="utf-8")
