"""Generated names for jobs, models and endpoints: unique, sortable, within SageMaker's limits.

SageStack never hard-codes physical names of SageMaker resources; each call gets a new one.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

MAX_LENGTH = 63  # TrainingJobName, ModelName, EndpointName, EndpointConfigName
_STAMP_LENGTH = len("-20260101-000000-abcd")


def kebab(name: str) -> str:
    """``LogisticModel`` -> ``logistic-model``; anything outside [a-z0-9-] becomes ``-``."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name).lower()
    return re.sub(r"[^a-z0-9]+", "-", words).strip("-") or "model"


def unique_name(*parts: str, now: datetime | None = None) -> str:
    """``sagestack-<parts>-YYYYmmdd-HHMMSS-xxxx``, cut to fit 63 characters."""
    base = "-".join(["sagestack", *(kebab(p) for p in parts if p)])
    base = base[: MAX_LENGTH - _STAMP_LENGTH].rstrip("-")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{base}-{stamp}-{secrets.token_hex(2)}"
