"""Following SageMaker work from the SDK: status polling and the training job's CloudWatch log."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.text import Text

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
POLL_INTERVAL_S = 15.0
"""Seconds between Describe* calls while waiting (tests set it to 0)."""


def sleep(seconds: float) -> None:
    """The pause between polls (one place to patch in tests)."""
    time.sleep(seconds)


def elapsed(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m{seconds % 60:02d}s"


class JobLog:
    """A training job's log, every host's stream, read as CloudWatch Logs receives it.

    Streams are named ``<job>/algo-<n>-<epoch>``; each keeps its own forward token, so a
    read returns only what arrived since the last one. ``tokens`` can be saved and handed to a
    new JobLog (the console carries them from one poll to the next in the page).
    """

    def __init__(
        self,
        logs: Any,
        job_name: str,
        console: Console | None = None,
        tokens: dict[str, str | None] | None = None,
    ) -> None:
        self.logs = logs
        self.job_name = job_name
        self.console = console
        self.tokens: dict[str, str | None] = dict(tokens or {})

    def _streams(self) -> list[str]:
        from botocore.exceptions import ClientError

        try:
            response = self.logs.describe_log_streams(
                logGroupName=TRAINING_LOG_GROUP, logStreamNamePrefix=f"{self.job_name}/"
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return []  # the group appears with the first job of the account/region
            raise
        return sorted(s["logStreamName"] for s in response.get("logStreams", []))

    def read(self) -> list[tuple[str, str]]:
        """What is new, as (``"algo-2 | "`` when there are several hosts else ``""``, line)."""
        lines: list[tuple[str, str]] = []
        streams = self._streams()
        for stream in streams:
            host = stream.split("/", 1)[-1].rsplit("-", 1)[0]
            prefix = f"{host} | " if len(streams) > 1 else ""
            while True:
                kwargs: dict[str, Any] = {
                    "logGroupName": TRAINING_LOG_GROUP,
                    "logStreamName": stream,
                    "startFromHead": True,
                }
                if self.tokens.get(stream):
                    kwargs["nextToken"] = self.tokens[stream]
                response = self.logs.get_log_events(**kwargs)
                events = response.get("events", [])
                lines += [(prefix, str(e["message"]).rstrip("\n")) for e in events]
                token = response.get("nextForwardToken")
                if not events or token == self.tokens.get(stream):
                    self.tokens[stream] = token
                    break
                self.tokens[stream] = token
        return lines

    def poll(self) -> int:
        """Print what is new; returns the number of lines printed."""
        lines = self.read()
        for prefix, message in lines:
            text = Text(prefix, style="dim")
            text.append(message)
            if self.console is not None:
                self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        return len(lines)
