"""A training job's StoppingCondition: SageMaker's ceiling, and our default for the spot wait.

The CreateTrainingJob API reference gives 2,419,200 s (28 days) as the maximum of both
``MaxRuntimeInSeconds`` and ``MaxWaitTimeInSeconds``; ``MaxWaitTimeInSeconds`` must be at least
``MaxRuntimeInSeconds``.
"""

from __future__ import annotations

MAX_RUNTIME_S = 28 * 24 * 3600
"""SageMaker's ceiling for MaxRuntimeInSeconds and MaxWaitTimeInSeconds (28 days)."""


def default_max_wait_s(max_runtime_s: int) -> int:
    """A spot job waits for capacity as long as it may run: twice the runtime, at most 28 days.
    The default of the Training stack's ``max_wait_s`` and of the SDK's TrainingInstance."""
    return min(2 * max_runtime_s, MAX_RUNTIME_S)
