"""Checks that construct props run in ``__post_init__``, so a bad value fails before synth."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# SageMaker job names: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$. Prefixes are lower case because
# SageMaker lower-cases names in ARNs, and the IAM policies match `<kind>/<prefix>-*`.
_PREFIX_RE = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
_S3_PREFIX_RE = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")


class PropError(ValueError):
    """A prop has a bad value; ``field``, ``value`` and ``expected`` let stacks/config_sections.py
    restate it with the cdk.json key path, since settings fields are named like their cdk.json
    keys."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        super().__init__(f"{field} must be {expected}, got {value!r}")
        self.field = field
        self.value = value
        self.expected = expected


def check(condition: bool, field: str, value: object, expected: str) -> None:
    """Raise a PropError naming the field, the bad value and what was expected."""
    if not condition:
        raise PropError(field, value, expected)


def resolved(value: int | None) -> int:
    """A field whose default is derived from another; ``__post_init__`` has filled it in."""
    assert value is not None, "a derived default is resolved in __post_init__"
    return value


def settings_of(settings: Any) -> dict[str, Any]:
    """The fields of a settings dataclass as keyword arguments for the props that extend it."""
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}


def check_name_prefix(field: str, value: str, max_length: int) -> None:
    check(
        bool(_PREFIX_RE.match(value)) and len(value) <= max_length,
        field,
        value,
        f"lower-case letters, digits and hyphens, at most {max_length} characters",
    )


def check_s3_prefix(field: str, value: str) -> None:
    check(
        bool(_S3_PREFIX_RE.match(value)) and not value.startswith("/") and value.endswith("/"),
        field,
        value,
        "an S3 key prefix such as 'train/' (no leading slash, trailing slash)",
    )


def check_directory(field: str, value: object) -> None:
    check(Path(str(value)).is_dir(), field, str(value), "an existing directory")


def check_vpc_placement(subnets: Sequence[object], security_groups: Sequence[object]) -> None:
    """SageMaker jobs, models and endpoints run in the VPC: both lists must be non-empty."""
    check(len(subnets) > 0, "subnets", list(subnets), "at least one subnet")
    check(
        len(security_groups) > 0,
        "security_groups",
        list(security_groups),
        "at least one security group",
    )
