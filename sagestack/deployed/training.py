"""Training runs of a deployed environment: the Training stack's state machine executions, the
SageMaker training jobs they started, their logs, and starting a new run with uploaded data."""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from sagestack.deployed.connection import Connection
from sagestack.sdk.backends.aws.executions import ExecutionRun, launch_execution
from sagestack.sdk.backends.aws.session import s3_channel
from sagestack.sdk.instances import TrainingInstance
from sagestack.sdk.platform import Platform
from sagestack.sdk.sources import S3DataSource
from sagestack.sdk.uploads import upload_path
from sagestack.sdk.watch import JobLog

RUNS_PAGE = 50
UPLOAD_PREFIXES = {"train": "train/console", "validation": "validation/console"}
"""Where browser uploads go in the data bucket: training data under train/, as the issue asks."""


def execution_job_suffix(execution_arn: str) -> str:
    """The tail of the job an execution starts: ``<prefix>-<md5 of the execution ARN>``
    (stacks/constructs/naming.py: ``States.Hash($$.Execution.Id, 'MD5')``)."""
    return hashlib.md5(execution_arn.encode(), usedforsecurity=False).hexdigest()


def execution_arn(platform: Platform, name: str) -> str:
    """An execution of the environment's Training state machine, from its name."""
    machine = platform.training_state_machine_arn
    return machine.replace(":stateMachine:", ":execution:", 1) + f":{name}"


@dataclass(frozen=True)
class RunRow:
    """One execution and (once it created it) its training job, as the list shows them."""

    name: str
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    started: datetime | None
    stopped: datetime | None
    job_name: str | None = None
    job_status: str | None = None
    secondary_status: str | None = None


@dataclass
class JobDetail:
    """DescribeTrainingJob, reduced to what the pages and the CLI show."""

    name: str
    status: str
    secondary_status: str
    transitions: list[dict[str, Any]]
    final_metrics: dict[str, float]
    failure_reason: str | None
    created: datetime | None
    ended: datetime | None
    hyperparameters: dict[str, str]
    channels: dict[str, str]
    model_artifacts: str | None
    instance: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass
class RunDetail:
    name: str
    arn: str
    status: str
    started: datetime | None
    stopped: datetime | None
    execution_input: dict[str, Any]
    output: dict[str, Any]
    error: str | None
    cause: str | None
    job: JobDetail | None


def _job_by_suffix(sagemaker: Any, suffix: str) -> str | None:
    summaries = sagemaker.list_training_jobs(NameContains=suffix)["TrainingJobSummaries"]
    names = [s["TrainingJobName"] for s in summaries if s["TrainingJobName"].endswith(suffix)]
    return names[0] if names else None


def list_runs(connection: Connection, limit: int = RUNS_PAGE) -> list[RunRow]:
    """The newest executions, each joined to its job from one ListTrainingJobs page."""
    platform = connection.platform()
    with connection.errors():
        executions = platform.client("stepfunctions").list_executions(
            stateMachineArn=platform.training_state_machine_arn, maxResults=limit
        )["executions"]
        jobs = platform.client("sagemaker").list_training_jobs(
            SortBy="CreationTime", SortOrder="Descending", MaxResults=100
        )["TrainingJobSummaries"]
    by_suffix = {j["TrainingJobName"].rsplit("-", 1)[-1]: j for j in jobs}
    rows = []
    for e in executions:
        job = by_suffix.get(execution_job_suffix(e["executionArn"]), {})
        rows.append(
            RunRow(
                name=e["name"],
                status=e["status"],
                started=e.get("startDate"),
                stopped=e.get("stopDate"),
                job_name=job.get("TrainingJobName"),
                job_status=job.get("TrainingJobStatus"),
                secondary_status=job.get("SecondaryStatus"),
            )
        )
    return rows


def list_jobs(connection: Connection, limit: int = RUNS_PAGE) -> list[dict[str, Any]]:
    """The newest SageStack training jobs (the state machine's and the SDK's), as summaries."""
    with connection.errors():
        return list(
            connection.client("sagemaker").list_training_jobs(
                NameContains="sagestack",
                SortBy="CreationTime",
                SortOrder="Descending",
                MaxResults=limit,
            )["TrainingJobSummaries"]
        )


def describe_job(connection: Connection, name: str) -> JobDetail:
    with connection.errors():
        d = connection.client("sagemaker").describe_training_job(TrainingJobName=name)
    resources = d.get("ResourceConfig", {})
    return JobDetail(
        name=d["TrainingJobName"],
        status=d["TrainingJobStatus"],
        secondary_status=d.get("SecondaryStatus", ""),
        transitions=list(d.get("SecondaryStatusTransitions", [])),
        final_metrics={
            m["MetricName"]: float(m["Value"]) for m in d.get("FinalMetricDataList", [])
        },
        failure_reason=d.get("FailureReason"),
        created=d.get("CreationTime"),
        ended=d.get("TrainingEndTime"),
        hyperparameters=dict(d.get("HyperParameters", {})),
        channels={
            c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
            for c in d.get("InputDataConfig", [])
            if "S3DataSource" in c.get("DataSource", {})
        },
        model_artifacts=d.get("ModelArtifacts", {}).get("S3ModelArtifacts"),
        instance=f"{resources.get('InstanceType', '?')} x{resources.get('InstanceCount', 1)}",
        raw=d,
    )


def describe_run(connection: Connection, name: str) -> RunDetail:
    """An execution and its job: found by the job name's hash, else from the history."""
    platform = connection.platform()
    arn = execution_arn(platform, name)
    with connection.errors():
        e = platform.client("stepfunctions").describe_execution(executionArn=arn)
        job_name = _job_by_suffix(platform.client("sagemaker"), execution_job_suffix(arn))
        if job_name is None:  # a tuning run names its jobs otherwise
            job_name = ExecutionRun(platform, name, arn).find_training_job()
    return RunDetail(
        name=name,
        arn=arn,
        status=e["status"],
        started=e.get("startDate"),
        stopped=e.get("stopDate"),
        execution_input=_json(e.get("input")),
        output=_json(e.get("output")),
        error=e.get("error"),
        cause=e.get("cause"),
        job=describe_job(connection, job_name) if job_name else None,
    )


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def run_exists(connection: Connection, name: str) -> bool:
    from botocore.exceptions import ClientError

    platform = connection.platform()
    with connection.errors():
        try:
            platform.client("stepfunctions").describe_execution(
                executionArn=execution_arn(platform, name)
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                return False
            raise
    return True


def read_log(
    connection: Connection, job_name: str, tokens: dict[str, str | None] | None = None
) -> tuple[list[tuple[str, str]], dict[str, str | None]]:
    """New lines of the job's CloudWatch streams since ``tokens`` (nextForwardToken per
    stream), and the tokens to pass next time."""
    log = JobLog(connection.client("logs"), job_name, tokens=tokens)
    with connection.errors():
        lines = log.read()
    return lines, log.tokens


def upload_channel_file(connection: Connection, channel: str, filename: str, data: bytes) -> str:
    """A browser upload into the data bucket (SSE-KMS with the environment's key, a key that
    carries the content hash); the channel's S3 prefix URI."""
    platform = connection.platform()
    safe = Path(filename).name or "data.csv"
    with tempfile.TemporaryDirectory(prefix="sagestack-upload-") as tmp, connection.errors():
        path = Path(tmp) / safe
        path.write_bytes(data)
        return upload_path(
            platform,
            path,
            bucket=platform.data_bucket,
            prefix=UPLOAD_PREFIXES[channel],
            console=Console(quiet=True),
        )


def start_run(
    connection: Connection,
    name: str,
    channels: dict[str, str],
    hyperparameters: dict[str, Any],
    instance: TrainingInstance,
) -> ExecutionRun:
    """Start the Training state machine as fit() on ``ml.*`` does (launch_execution); the data
    must be in the environment's own buckets (the training role reads nothing else)."""
    platform = connection.platform()
    with connection.errors():
        inputs = {
            channel: s3_channel(platform, channel, S3DataSource(uri, "text/csv"))
            for channel, uri in channels.items()
        }
        return launch_execution(platform, name, inputs, hyperparameters, instance)


def stop_job(connection: Connection, name: str) -> None:
    """StopTrainingJob (the execution's .sync task then ends as failed)."""
    with connection.errors():
        connection.client("sagemaker").stop_training_job(TrainingJobName=name)
