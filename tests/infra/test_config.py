"""Configuration: cdk.json parses into frozen dataclasses; each bad value fails with its key."""

from __future__ import annotations

import copy
import dataclasses
import re
from typing import Any

import pytest

from stacks.config import EnvironmentConfig, load_config
from stacks.config_sections import ConfigError
from stacks.constructs.training.props import TrainingSettings


def _context(cdk_context: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    context = {"sagestack": copy.deepcopy(cdk_context["sagestack"])}
    context.update(overrides)
    return context


def _dev(context: dict[str, Any]) -> dict[str, Any]:
    return context["sagestack"]["environments"]["dev"]  # type: ignore[no-any-return]


def test_cdk_json_defines_dev_test_and_prod(cdk_context: dict[str, Any]) -> None:
    config = load_config(_context(cdk_context))
    assert [env.name for env in config.environments] == ["dev", "test", "prod"]
    dev = config.environments[0]
    assert dev.notebook.instance_type.startswith("ml.")
    assert dev.dev_box.enabled is True
    assert dev.is_environment_agnostic


def test_env_context_selects_one_environment(cdk_context: dict[str, Any]) -> None:
    config = load_config(_context(cdk_context, env="prod"))
    assert [env.name for env in config.environments] == ["prod"]
    assert config.environments[0].termination_protection is True


def test_config_is_frozen_and_keyword_only(cdk_context: dict[str, Any]) -> None:
    env = load_config(_context(cdk_context)).environments[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        env.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        EnvironmentConfig("dev")  # type: ignore[misc, call-arg]
    with pytest.raises(TypeError):
        env.tags["x"] = "y"  # type: ignore[index]


def test_fails_on_unknown_environment(cdk_context: dict[str, Any]) -> None:
    with pytest.raises(
        ConfigError, match=r"env = 'staging': unknown environment; choose one of dev, test, prod"
    ):
        load_config(_context(cdk_context, env="staging"))


def test_fails_on_instance_type_without_ml_prefix(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["training"]["instance_type"] = "m5.xlarge"
    expected = (
        "sagestack.environments.dev.training.instance_type = 'm5.xlarge': "
        "must be an ml.* instance type such as 'ml.m5.xlarge'"
    )
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(context)


def test_fails_on_dev_box_instance_type_with_ml_prefix(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["dev_box"]["instance_type"] = "ml.t3.medium"
    with pytest.raises(
        ConfigError, match=r"dev_box\.instance_type = 'ml\.t3\.medium': must be an EC2"
    ):
        load_config(context)


def test_fails_on_negative_count(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["serving"]["instance_count"] = -1
    with pytest.raises(
        ConfigError,
        match=r"dev\.serving\.instance_count = -1: must be between 1 and max_instance_count \(2\)",
    ):
        load_config(context)


def test_fails_on_negative_idle_minutes(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["notebook"]["idle_stop_minutes"] = -30
    with pytest.raises(
        ConfigError, match=r"idle_stop_minutes = -30: must be an integer >= 5 \(minutes\)"
    ):
        load_config(context)


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/33", "10.0.0.1/16", "not-a-cidr", "8.8.0.0/16", "10.0.0.0/8"]
)
def test_fails_on_bad_cidr(cdk_context: dict[str, Any], cidr: str) -> None:
    context = _context(cdk_context)
    _dev(context)["network"]["vpc_cidr"] = cidr
    expected = (
        f"sagestack.environments.dev.network.vpc_cidr = '{cidr}': must be a private IPv4 CIDR"
    )
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(context)


def test_fails_on_unknown_key(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["notebook"]["idle_stop_minuets"] = 30
    with pytest.raises(
        ConfigError,
        match=r"notebook\.idle_stop_minuets: unknown key 'idle_stop_minuets'; allowed keys: "
        r"idle_stop_minutes, instance_type, volume_size_gib",
    ):
        load_config(context)


def test_fails_on_unknown_top_level_environment_key(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["retention_days"] = 30
    with pytest.raises(ConfigError, match=r"environments\.dev\.retention_days: unknown key"):
        load_config(context)


def test_fails_on_missing_key(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    del _dev(context)["log_retention_days"]
    with pytest.raises(
        ConfigError, match=r"dev\.log_retention_days is missing; expected a number of days"
    ):
        load_config(context)


def test_fails_on_retention_cloudwatch_does_not_accept(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["log_retention_days"] = 31
    with pytest.raises(
        ConfigError, match=r"log_retention_days = 31: CloudWatch Logs accepts one of 1, 3, 5"
    ):
        load_config(context)


def test_fails_on_bool_where_a_count_belongs(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["network"]["max_azs"] = True
    with pytest.raises(ConfigError, match=r"network\.max_azs = True: expected an integer"):
        load_config(context)


def test_fails_on_account_without_region(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["account"] = "123456789012"
    with pytest.raises(ConfigError, match=r"set both \(a pinned environment\) or neither"):
        load_config(context)


def test_fails_on_pinned_environment_without_availability_zones(
    cdk_context: dict[str, Any],
) -> None:
    context = _context(cdk_context)
    _dev(context).update(account="123456789012", region="eu-west-1")
    with pytest.raises(ConfigError, match=r"network\.availability_zones is missing; required when"):
        load_config(context)


def test_pinned_environment_with_availability_zones(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context).update(account="123456789012", region="eu-west-1")
    _dev(context)["network"]["availability_zones"] = ["eu-west-1a", "eu-west-1b"]
    dev = load_config(context).environments[0]
    assert (dev.account, dev.region) == ("123456789012", "eu-west-1")
    assert dev.network.availability_zones == ("eu-west-1a", "eu-west-1b")


def test_fails_on_three_azs_when_environment_agnostic(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["network"]["max_azs"] = 3
    with pytest.raises(ConfigError, match=r"max_azs = 3: environment-agnostic stacks see only 2"):
        load_config(context)


def test_fails_on_bad_environment_name(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    envs = context["sagestack"]["environments"]
    envs["Dev_1"] = envs.pop("dev")
    with pytest.raises(ConfigError, match=r"environments\.Dev_1 = 'Dev_1': environment names are"):
        load_config(context)


def test_fails_on_reserved_tag_key(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["tags"]["aws:owner"] = "me"
    with pytest.raises(ConfigError, match=r"tags\.aws:owner = 'aws:owner': tag keys must"):
        load_config(context)


def test_left_out_keys_take_the_settings_defaults(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    optional = ("mode", "hyperparameters", "eval_metric", "approval_status", "use_spot_instances")
    for key in (*optional, "max_runtime_s", "max_wait_s", "schedule", "trigger_on_new_data"):
        del _dev(context)["training"][key]
    for key in ("variant", "max_instance_count", "data_capture_sampling_percent"):
        del _dev(context)["serving"][key]
    _dev(context)["serving"]["instance_count"] = 3
    dev = load_config(context).environments[0]
    assert dev.training == TrainingSettings(
        instance_type="ml.m5.xlarge", instance_count=1, quality_gate_threshold=0.7
    )
    # Derived defaults: twice the runtime; at least two instances, never below the minimum.
    assert (dev.training.max_runtime_s, dev.training.max_wait_s) == (3600, 7200)
    assert dev.serving.max_instance_count == 3


def test_fails_with_the_settings_check_restated_for_the_key(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["training"]["max_wait_s"] = 60
    expected = (
        "sagestack.environments.dev.training.max_wait_s = 60: "
        "must be between max_runtime_s (3600) and 2419200"
    )
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(context)


def test_fails_on_both_model_sources(cdk_context: dict[str, Any]) -> None:
    context = _context(cdk_context)
    _dev(context)["serving"]["model_data_url"] = "s3://b/model.tar.gz"
    _dev(context)["serving"]["model_package_arn"] = (
        "arn:aws:sagemaker:eu-west-1:123456789012:model-package/m/1"
    )
    with pytest.raises(
        ConfigError, match=r"serving\.model_package_arn = 'arn:.*': must be unset when model_data"
    ):
        load_config(context)
