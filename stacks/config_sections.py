"""Reading cdk.json context: typed values by key path, unknown-key checks and ConfigError."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

from sagestack.contract import patterns
from stacks.constructs.prop_checks import PropError

_ML_INSTANCE_TYPE = patterns.ML_INSTANCE_TYPE


class ConfigError(ValueError):
    """A cdk.json setting is missing or invalid; the message says key, value and what is allowed."""


T = TypeVar("T")
S = TypeVar("S")


class Section:
    """One JSON object of the configuration; remembers its key path and which keys were read."""

    def __init__(self, raw: Any, path: str) -> None:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{path} = {raw!r}: must be an object")
        self._raw = raw
        self._path = path
        self._read: list[str] = []

    def key_path(self, key: str) -> str:
        return f"{self._path}.{key}"

    def value(self, key: str, expected: type[T], describe: str) -> T:
        self._read.append(key)
        if key not in self._raw:
            raise ConfigError(f"{self.key_path(key)} is missing; expected {describe}")
        value = self._raw[key]
        # bool is an int subclass in Python; a count of `true` is a mistake, not 1.
        wrong_bool = isinstance(value, bool) and expected is not bool
        if not isinstance(value, expected) or wrong_bool:
            raise ConfigError(f"{self.key_path(key)} = {value!r}: expected {describe}")
        return value

    def optional(self, key: str) -> Any:
        self._read.append(key)
        return self._raw.get(key)

    def each_key(self) -> Iterator[str]:
        """Every key, for sections whose keys are data (environment names, tag keys)."""
        for key in self._raw:
            self._read.append(key)
            yield key

    def section(self, key: str) -> Section:
        self._read.append(key)
        if key not in self._raw:
            raise ConfigError(f"{self.key_path(key)} is missing; expected an object")
        return Section(self._raw[key], self.key_path(key))

    def reject_unknown_keys(self) -> None:
        unknown = sorted(set(self._raw) - set(self._read))
        if unknown:
            allowed = ", ".join(sorted(self._read))
            raise ConfigError(
                f"{self.key_path(unknown[0])}: unknown key {unknown[0]!r}; allowed keys: {allowed}"
            )


def check(condition: bool, path: str, value: Any, allowed: str) -> None:
    if not condition:
        raise ConfigError(f"{path} = {value!r}: {allowed}")


def int_at_least(section: Section, key: str, minimum: int, unit: str) -> int:
    value = section.value(key, int, f"an integer >= {minimum} ({unit})")
    check(
        value >= minimum, section.key_path(key), value, f"must be an integer >= {minimum} ({unit})"
    )
    return value


def ml_instance_type(section: Section, key: str) -> str:
    value = section.value(key, str, "a SageMaker instance type such as 'ml.m5.xlarge'")
    check(
        bool(_ML_INSTANCE_TYPE.match(value)),
        section.key_path(key),
        value,
        "SageMaker instance types start with 'ml.' (e.g. 'ml.m5.xlarge')",
    )
    return value


def given(section: Section, values: dict[str, Any], key: str, expected: Any, describe: str) -> None:
    """Adds `key` to `values` when cdk.json sets it; left out (or null), the settings default."""
    if section.optional(key) is not None:
        values[key] = section.value(key, expected, describe)


def choice(
    section: Section, values: dict[str, Any], key: str, choices: Mapping[str, enum.Enum]
) -> None:
    """Like `given`, for a setting whose cdk.json spellings map to enum members."""
    raw = section.optional(key)
    if raw is None:
        return
    allowed = ", ".join(choices)
    check(
        isinstance(raw, str) and raw in choices,
        section.key_path(key),
        raw,
        f"must be one of {allowed}",
    )
    values[key] = choices[raw]


def string_map(section: Section, values: dict[str, Any], key: str) -> None:
    raw = section.optional(key)
    if raw is None:
        return
    check(
        isinstance(raw, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()),
        section.key_path(key),
        raw,
        'must map names to string values, e.g. {"num_round": "100"}',
    )
    values[key] = MappingProxyType(dict(sorted(raw.items())))


def build_settings(section: Section, settings_class: Callable[..., S], values: dict[str, Any]) -> S:
    """Builds a settings object; its own check's error is restated with the cdk.json key.

    Settings fields carry their cdk.json key names, so the failed field is the key.
    """
    section.reject_unknown_keys()
    try:
        return settings_class(**values)
    except PropError as error:
        raise ConfigError(
            f"{section.key_path(error.field)} = {error.value!r}: must be {error.expected}"
        ) from None


def optional_str(section: Section, key: str, pattern: re.Pattern[str], describe: str) -> str | None:
    value = section.optional(key)
    if value is None:
        return None
    check(
        isinstance(value, str) and bool(pattern.match(value)),
        section.key_path(key),
        value,
        describe,
    )
    return str(value)
