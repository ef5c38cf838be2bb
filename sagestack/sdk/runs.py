"""``TrainingRun``: the handle fit(wait=False) returns, the same for local and AWS jobs."""

from __future__ import annotations

from abc import ABC, abstractmethod

from sagestack.sdk.sources import S3DataSource

IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
STOPPED = "Stopped"
TERMINAL = frozenset({COMPLETED, FAILED, STOPPED})


class TrainingRun(ABC):
    """One training job (or training execution) that has been started.

    ``status()`` is one of InProgress, Completed, Failed, Stopped (DescribeTrainingJob's
    words, whatever ran the job); ``wait()`` blocks until it ends and returns the artifacts'
    S3DataSource, or raises TrainingFailedError with the reason.
    """

    name: str
    metrics: dict[str, float]

    @abstractmethod
    def status(self) -> str: ...

    @abstractmethod
    def wait(self) -> S3DataSource: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
