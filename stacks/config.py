"""SageStack configuration: environment dataclasses and the checks that build them from cdk.json."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from stacks.config_sections import (
    ConfigError,
    Section,
    build_settings,
    check,
    choice,
    given,
    int_at_least,
    ml_instance_type,
    optional_str,
    string_map,
)
from stacks.constructs.serving.props import ServingSettings, TrafficShifting, VariantKind
from stacks.constructs.training.props import ApprovalStatus, TrainingMode, TrainingSettings

CONTEXT_KEY = "sagestack"
"""The cdk.json context key that holds the SageStack settings."""

SELECT_ENV_KEY = "env"
"""Context key that selects one environment (`cdk synth -c env=dev`); absent means all."""

# CloudWatch Logs accepts only these retention periods (AWS::Logs::LogGroup RetentionInDays).
LOG_RETENTION_DAYS_ALLOWED = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

_ENV_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$")
_AZ = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d[a-z]$")
_EC2_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")


@dataclass(frozen=True, kw_only=True)
class NotebookConfig:
    """The SageMaker notebook instance of the DevEnvironment stack."""

    instance_type: str
    """SageMaker notebook instance type, `ml.`-prefixed (e.g. ml.t3.medium)."""
    volume_size_gib: int
    """ML storage volume size in GiB (5..16384)."""
    idle_stop_minutes: int
    """Minutes without Jupyter activity after which the instance stops itself (>= 5)."""


@dataclass(frozen=True, kw_only=True)
class DevBoxConfig:
    """The optional EC2 dev instance (reached through SSM Session Manager only)."""

    enabled: bool
    """False: no instance, no Session Manager endpoints."""
    instance_type: str
    """EC2 instance type without the `ml.` prefix (e.g. t3.medium)."""
    volume_size_gib: int
    """Encrypted root volume size in GiB (>= 30, the AL2023 AMI's snapshot size)."""


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """The isolated VPC."""

    vpc_cidr: str
    """Private IPv4 block, prefix /16../24."""
    max_azs: int
    """Availability Zones to spread subnets over (1..2 when environment-agnostic)."""
    availability_zones: tuple[str, ...]
    """Explicit AZ names; required when account/region are pinned, so synth never looks them up."""


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything one deployment environment (one Stage) needs."""

    name: str
    """Short lowercase name; used in the Stage id, SSM parameter paths and tags."""
    account: str | None
    """12-digit account id, or None for an environment-agnostic Stage."""
    region: str | None
    """Region name, or None for an environment-agnostic Stage (set together with account)."""
    training: TrainingSettings
    """The `training` section; its defaults and checks live in TrainingSettings."""
    serving: ServingSettings
    """The `serving` section; its defaults and checks live in ServingSettings."""
    notebook: NotebookConfig
    dev_box: DevBoxConfig
    network: NetworkConfig
    log_retention_days: int
    """Retention of the log groups this app creates; one of LOG_RETENTION_DAYS_ALLOWED."""
    noncurrent_version_expiration_days: int
    """Days after which S3 deletes noncurrent object versions (>= 1)."""
    termination_protection: bool
    """CloudFormation termination protection on the stateful Data stack."""
    tags: Mapping[str, str]
    """Stack tags; CloudFormation propagates them to every taggable resource."""

    @property
    def is_environment_agnostic(self) -> bool:
        return self.account is None


@dataclass(frozen=True, kw_only=True)
class AppConfig:
    """The environments selected for this synth, in cdk.json order."""

    environments: tuple[EnvironmentConfig, ...]


# Optional keys of the job sections: JSON type and its description. Left out, a key takes the
# default of TrainingSettings / ServingSettings, and those classes check the value.
_TRAINING_OPTIONAL: Mapping[str, tuple[Any, str]] = {
    "eval_metric": (str, "an XGBoost metric"),
    "use_spot_instances": (bool, "true or false"),
    "max_runtime_s": (int, "seconds"),
    "max_wait_s": (int, "seconds"),
    "schedule": (str, "an EventBridge expression such as 'rate(7 days)'"),
    "trigger_on_new_data": (bool, "true or false"),
}
_SERVING_OPTIONAL: Mapping[str, tuple[Any, str]] = {
    "max_instance_count": (int, "an integer"),
    "serverless_memory_mib": (int, "MiB"),
    "serverless_max_concurrency": (int, "1-200"),
    "model_package_arn": (str, "a model package ARN"),
    "model_data_url": (str, "an s3://.../model.tar.gz URI"),
    "data_capture_sampling_percent": (int, "0-100"),
    "network_isolation": (bool, "true or false"),
}


def _job(section: Section, optional: Mapping[str, tuple[Any, str]]) -> dict[str, Any]:
    """The keys every job section requires, and those of `optional` that cdk.json sets."""
    values = {
        "instance_type": section.value("instance_type", str, "a SageMaker instance type"),
        "instance_count": section.value("instance_count", int, "an integer (instances)"),
    }
    for key, (expected, describe) in optional.items():
        given(section, values, key, expected, describe)
    return values


def _training(section: Section) -> TrainingSettings:
    values = _job(section, _TRAINING_OPTIONAL)
    threshold: float = section.value("quality_gate_threshold", (int, float), "a number")  # type: ignore[arg-type]
    values["quality_gate_threshold"] = float(threshold)
    choice(section, values, "mode", {m.value: m for m in TrainingMode})
    choice(section, values, "approval_status", {m.value: m for m in ApprovalStatus})
    string_map(section, values, "hyperparameters")
    return build_settings(section, TrainingSettings, values)


def _serving(section: Section) -> ServingSettings:
    values = _job(section, _SERVING_OPTIONAL)
    choice(section, values, "variant", {m.value: m for m in VariantKind})
    # cdk.json spells the modes in lower case; the enum values are CloudFormation's.
    choice(section, values, "traffic_shifting", {m.name.lower(): m for m in TrafficShifting})
    return build_settings(section, ServingSettings, values)


def _notebook(section: Section) -> NotebookConfig:
    volume = int_at_least(section, "volume_size_gib", 5, "GiB")
    check(volume <= 16384, section.key_path("volume_size_gib"), volume, "must be <= 16384 GiB")
    notebook = NotebookConfig(
        instance_type=ml_instance_type(section, "instance_type"),
        volume_size_gib=volume,
        idle_stop_minutes=int_at_least(section, "idle_stop_minutes", 5, "minutes"),
    )
    section.reject_unknown_keys()
    return notebook


def _dev_box(section: Section) -> DevBoxConfig:
    enabled = section.value("enabled", bool, "true or false")
    instance_type = section.value("instance_type", str, "an EC2 instance type such as 't3.medium'")
    check(
        bool(_EC2_INSTANCE_TYPE.match(instance_type)) and not instance_type.startswith("ml."),
        section.key_path("instance_type"),
        instance_type,
        "must be an EC2 instance type such as 't3.medium' (no 'ml.' prefix: that is SageMaker's)",
    )
    dev_box = DevBoxConfig(
        enabled=enabled,
        instance_type=instance_type,
        volume_size_gib=int_at_least(section, "volume_size_gib", 30, "GiB"),
    )
    section.reject_unknown_keys()
    return dev_box


def _network(section: Section, *, pinned: bool) -> NetworkConfig:
    cidr = section.value("vpc_cidr", str, "an IPv4 CIDR block such as '10.0.0.0/16'")
    cidr_allowed = (
        "must be a private IPv4 CIDR block with a prefix of /16 to /24, e.g. '10.0.0.0/16'"
    )
    try:
        network = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError:
        raise ConfigError(f"{section.key_path('vpc_cidr')} = {cidr!r}: {cidr_allowed}") from None
    check(
        network.is_private and 16 <= network.prefixlen <= 24,
        section.key_path("vpc_cidr"),
        cidr,
        cidr_allowed,
    )
    max_azs = int_at_least(section, "max_azs", 1, "Availability Zones")
    zones_raw = section.optional("availability_zones")
    zones: tuple[str, ...] = ()
    zones_path = section.key_path("availability_zones")
    if zones_raw is not None:
        check(
            isinstance(zones_raw, list)
            and all(isinstance(z, str) and _AZ.match(z) for z in zones_raw),
            zones_path,
            zones_raw,
            "must be a list of AZ names such as ['eu-west-1a', 'eu-west-1b']",
        )
        zones = tuple(zones_raw)
        check(
            len(zones) >= max_azs,
            zones_path,
            zones_raw,
            f"must list at least max_azs={max_azs} zones",
        )
    elif pinned:
        raise ConfigError(
            f"{zones_path} is missing; required when account and region are set, "
            "so that synth never looks Availability Zones up"
        )
    else:
        check(
            max_azs <= 2,
            section.key_path("max_azs"),
            max_azs,
            "environment-agnostic stacks see only 2 Availability Zones; use 1 or 2, "
            "or set account, region and availability_zones",
        )
    section.reject_unknown_keys()
    return NetworkConfig(vpc_cidr=cidr, max_azs=max_azs, availability_zones=zones)


def _tags(section: Section) -> Mapping[str, str]:
    tags = {}
    for key in section.each_key():
        value = section.optional(key)
        path = section.key_path(key)
        check(
            isinstance(value, str) and len(value) <= 256,
            path,
            value,
            "tag values must be strings of at most 256 characters",
        )
        check(
            0 < len(key) <= 128 and not key.lower().startswith("aws:"),
            path,
            key,
            "tag keys must be 1-128 characters and must not start with 'aws:'",
        )
        tags[key] = value
    return MappingProxyType(dict(sorted(tags.items())))


def _environment(name: str, section: Section) -> EnvironmentConfig:
    account = optional_str(section, "account", _ACCOUNT, "must be a 12-digit account id or null")
    region = optional_str(
        section, "region", _REGION, "must be a region name such as 'eu-west-1' or null"
    )
    if (account is None) != (region is None):
        raise ConfigError(
            f"{section.key_path('account')} = {account!r}, "
            f"{section.key_path('region')} = {region!r}: "
            "set both (a pinned environment) or neither (environment-agnostic)"
        )
    retention = section.value("log_retention_days", int, "a number of days")
    check(
        retention in LOG_RETENTION_DAYS_ALLOWED,
        section.key_path("log_retention_days"),
        retention,
        f"CloudWatch Logs accepts one of {', '.join(map(str, LOG_RETENTION_DAYS_ALLOWED))}",
    )
    env = EnvironmentConfig(
        name=name,
        account=account,
        region=region,
        training=_training(section.section("training")),
        serving=_serving(section.section("serving")),
        notebook=_notebook(section.section("notebook")),
        dev_box=_dev_box(section.section("dev_box")),
        network=_network(section.section("network"), pinned=account is not None),
        log_retention_days=retention,
        noncurrent_version_expiration_days=int_at_least(
            section, "noncurrent_version_expiration_days", 1, "days"
        ),
        termination_protection=section.value("termination_protection", bool, "true or false"),
        tags=_tags(section.section("tags")),
    )
    section.reject_unknown_keys()
    return env


def parse_environments(raw: Any) -> tuple[EnvironmentConfig, ...]:
    """Validates every environment under `sagestack.environments` (all of them, always)."""
    root = Section(raw, CONTEXT_KEY)
    environments = root.section("environments")
    parsed = []
    for name in list(environments.each_key()):
        check(
            isinstance(name, str) and bool(_ENV_NAME.match(name)),
            environments.key_path(str(name)),
            name,
            "environment names are 1-12 lowercase letters or digits, starting with a letter",
        )
        parsed.append(_environment(name, environments.section(name)))
    if not parsed:
        raise ConfigError(f"{CONTEXT_KEY}.environments = {{}}: define at least one environment")
    root.reject_unknown_keys()
    return tuple(parsed)


def load_config(context: Mapping[str, Any]) -> AppConfig:
    """Builds the AppConfig from the merged CDK context (cdk.json plus any `-c` overrides).

    Every environment is validated even when one is selected, so a typo in `prod` fails a
    `dev` synth too rather than surprising the next person.
    """
    if CONTEXT_KEY not in context:
        raise ConfigError(f"{CONTEXT_KEY} is missing from the CDK context (cdk.json 'context')")
    environments = parse_environments(context[CONTEXT_KEY])
    selected = context.get(SELECT_ENV_KEY)
    if selected is None:
        return AppConfig(environments=environments)
    names = [env.name for env in environments]
    if selected not in names:
        raise ConfigError(
            f"{SELECT_ENV_KEY} = {selected!r}: unknown environment; "
            f"choose one of {', '.join(names)} (or omit -c env=... to synthesize all)"
        )
    return AppConfig(environments=tuple(env for env in environments if env.name == selected))
