"""The environment variables a training container gives the entry point, per launch path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sagestack.contract.hyperparameters import decode_value, encode_value
from sagestack.contract.launch import CODE_CHANNEL
from sagestack.local.hyperparameters import (
    SAGEMAKER_PREFIX,
    legacy_cmd_args,
    user_hyperparameters,
)
from sagestack.local.jobdir import HostDir

LEGACY = "legacy"
V3 = "v3"
LAUNCH_STYLES = (LEGACY, V3)
LOG_LEVEL = 20  # logging.INFO, the default of both toolkits
# Multi-host runs locally put every "host" on loopback; scripts resolve algo-N through this
# JSON map ({"algo-1": "127.0.0.1", ...}) before falling back to DNS, as on SageMaker.
HOST_ADDRESSES_ENV = "SAGESTACK_HOST_ADDRESSES"
# The collective's base port (training/sm_constants.py TRACKER_PORT_ENV); set per local job.
TRACKER_PORT_ENV = "SAGESTACK_TRACKER_PORT"
# Hyperparameter keys sagemaker-containers consumes itself (the rest of sagemaker_* become
# SM_FRAMEWORK_PARAMS); see _params.SAGEMAKER_HYPERPARAMETERS.
_TOOLKIT_KEYS = frozenset(
    {
        "sagemaker_program",
        "sagemaker_submit_directory",
        "sagemaker_container_log_level",
        "sagemaker_job_name",
        "sagemaker_region",
        "sagemaker_enable_cloudwatch_metrics",
        "sagemaker_s3_output",
    }
)


@dataclass(frozen=True, kw_only=True)
class JobContext:
    """What the environment of one host's entry point is built from."""

    job_name: str
    job_arn: str
    host_dir: HostDir
    hosts: list[str]
    hyperparameters_json: Mapping[str, str]
    input_data_config: Mapping[str, Mapping[str, str]]
    resource_config: Mapping[str, Any]
    entry_point: str
    num_cpus: int
    num_gpus: int = 0


def _legacy_format(value: Any) -> str:
    # sagemaker-containers _mapping.to_env_vars: strings raw, the rest compact sorted JSON.
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def image_environment(ctx: JobContext) -> dict[str, str]:
    """What the XGBoost image's Dockerfile ENV and the platform set in every launch path."""
    h = ctx.host_dir
    return {
        "SM_INPUT": str(h.input_dir),
        "SM_INPUT_TRAINING_CONFIG_FILE": str(h.hyperparameters_file),
        "SM_INPUT_DATA_CONFIG_FILE": str(h.input_data_config_file),
        "SM_CHECKPOINT_CONFIG_FILE": str(h.checkpoint_config_file),
        "SM_MODEL_DIR": str(h.model_dir),
        "SAGEMAKER_TRAINING_MODULE": "sagemaker_xgboost_container.training:main",
        "SAGEMAKER_SERVING_MODULE": "sagemaker_xgboost_container.serving:main",
        "TRAINING_JOB_NAME": ctx.job_name,
        "TRAINING_JOB_ARN": ctx.job_arn,
        HOST_ADDRESSES_ENV: json.dumps({host: "127.0.0.1" for host in sorted(ctx.hosts)}),
    }


def legacy_environment(ctx: JobContext) -> dict[str, str]:
    """sagemaker-containers ``TrainingEnv.to_env_vars`` (launch path B)."""
    h = ctx.host_dir
    raw = {key: decode_value(value) for key, value in ctx.hyperparameters_json.items()}
    hps = user_hyperparameters(ctx.hyperparameters_json)
    framework_params = {
        k: v for k, v in raw.items() if k.startswith(SAGEMAKER_PREFIX) and k not in _TOOLKIT_KEYS
    }
    program = str(raw.get("sagemaker_program", ctx.entry_point))
    module_name = program[:-3] if program.endswith(".py") else program
    module_dir = str(raw.get("sagemaker_submit_directory", h.code_dir))
    log_level = raw.get("sagemaker_container_log_level", LOG_LEVEL)
    hosts = sorted(ctx.hosts)
    channel_dirs = {name: str(h.channel_dir(name)) for name in ctx.input_data_config}
    training_env = {
        "additional_framework_parameters": framework_params,
        "channel_input_dirs": channel_dirs,
        "current_host": h.host,
        "framework_module": "sagemaker_xgboost_container.training:main",
        "hosts": hosts,
        "hyperparameters": hps,
        "input_config_dir": str(h.config_dir),
        "input_data_config": dict(ctx.input_data_config),
        "input_dir": str(h.input_dir),
        "is_master": h.host == hosts[0],
        "job_name": ctx.job_name,
        "log_level": log_level,
        "master_hostname": hosts[0],
        "model_dir": str(h.model_dir),
        "module_dir": module_dir,
        "module_name": module_name,
        "network_interface_name": ctx.resource_config["network_interface_name"],
        "num_cpus": ctx.num_cpus,
        "num_gpus": ctx.num_gpus,
        "output_data_dir": str(h.output_data_dir),
        "output_dir": str(h.output_dir),
        "output_intermediate_dir": str(h.intermediate_dir),
        "resource_config": dict(ctx.resource_config),
        "user_entry_point": program,
    }
    env: dict[str, Any] = {
        "hosts": hosts,
        "network_interface_name": training_env["network_interface_name"],
        "hps": hps,
        "user_entry_point": program,
        "framework_params": framework_params,
        "resource_config": training_env["resource_config"],
        "input_data_config": training_env["input_data_config"],
        "output_data_dir": str(h.output_data_dir),
        "channels": sorted(channel_dirs),
        "current_host": h.host,
        "module_name": module_name,
        "log_level": log_level,
        "framework_module": training_env["framework_module"],
        "input_dir": str(h.input_dir),
        "input_config_dir": str(h.config_dir),
        "output_dir": str(h.output_dir),
        "num_cpus": ctx.num_cpus,
        "num_gpus": ctx.num_gpus,
        "model_dir": str(h.model_dir),
        "module_dir": module_dir,
        "training_env": training_env,
        "user_args": legacy_cmd_args(ctx.hyperparameters_json),
        "output_intermediate_dir": str(h.intermediate_dir),
    }
    for name, path in channel_dirs.items():
        env[f"channel_{name}"] = path
    for key, value in hps.items():
        env[f"hp_{key}"] = value
    return {f"SM_{key.upper()}": _legacy_format(value) for key, value in env.items()}


def v3_environment(ctx: JobContext) -> dict[str, str]:
    """The SDK v3 driver's ``environment.py`` ``set_env`` (launch path C)."""
    h = ctx.host_dir
    hosts = sorted(ctx.hosts)
    channels = list(ctx.input_data_config)
    hps = {key: decode_value(value) for key, value in ctx.hyperparameters_json.items()}
    env: dict[str, Any] = {
        "SM_MODEL_DIR": str(h.model_dir),
        "SM_INPUT_DIR": str(h.input_dir),
        "SM_INPUT_DATA_DIR": str(h.data_dir),
        "SM_INPUT_CONFIG_DIR": str(h.config_dir),
        "SM_OUTPUT_DIR": str(h.output_dir),
        "SM_OUTPUT_FAILURE": str(h.failure_file),
        "SM_OUTPUT_DATA_DIR": str(h.output_data_dir),
        "SM_LOG_LEVEL": LOG_LEVEL,
        "SM_MASTER_ADDR": hosts[0],
        "SM_MASTER_PORT": 7777,
        "SM_SOURCE_DIR": str(h.channel_dir(CODE_CHANNEL)),
        "SM_ENTRY_SCRIPT": ctx.entry_point,
    }
    for name in channels:
        env[f"SM_CHANNEL_{name.upper()}"] = str(h.channel_dir(name))
    env["SM_CHANNELS"] = channels
    for key, value in hps.items():
        env[f"SM_HP_{key.replace('-', '_').upper()}"] = value
    env["SM_HPS"] = hps
    env.update(
        {
            "SM_CURRENT_HOST": h.host,
            "SM_CURRENT_INSTANCE_TYPE": ctx.resource_config["current_instance_type"],
            "SM_HOSTS": hosts,
            "SM_NETWORK_INTERFACE_NAME": ctx.resource_config["network_interface_name"],
            "SM_HOST_COUNT": len(hosts),
            "SM_CURRENT_HOST_RANK": hosts.index(h.host),
            "SM_NUM_CPUS": ctx.num_cpus,
            "SM_NUM_GPUS": ctx.num_gpus,
            "SM_NUM_NEURONS": 0,
            "SM_RESOURCE_CONFIG": dict(ctx.resource_config),
            "SM_INPUT_DATA_CONFIG": dict(ctx.input_data_config),
        }
    )
    env["SM_TRAINING_ENV"] = {
        "channel_input_dirs": {name: env[f"SM_CHANNEL_{name.upper()}"] for name in channels},
        "current_host": h.host,
        "current_instance_type": env["SM_CURRENT_INSTANCE_TYPE"],
        "hosts": hosts,
        "master_addr": env["SM_MASTER_ADDR"],
        "master_port": env["SM_MASTER_PORT"],
        "hyperparameters": hps,
        "input_data_config": env["SM_INPUT_DATA_CONFIG"],
        "input_config_dir": env["SM_INPUT_CONFIG_DIR"],
        "input_data_dir": env["SM_INPUT_DATA_DIR"],
        "input_dir": env["SM_INPUT_DIR"],
        "job_name": ctx.job_name,
        "log_level": LOG_LEVEL,
        "model_dir": env["SM_MODEL_DIR"],
        "network_interface_name": env["SM_NETWORK_INTERFACE_NAME"],
        "num_cpus": ctx.num_cpus,
        "num_gpus": ctx.num_gpus,
        "num_neurons": 0,
        "output_data_dir": env["SM_OUTPUT_DATA_DIR"],
        "resource_config": env["SM_RESOURCE_CONFIG"],
    }
    # The driver exports every value through safe_serialize: strings raw, the rest JSON.
    return {key: encode_value(value) for key, value in env.items()}


def training_environment(ctx: JobContext, launch: str) -> dict[str, str]:
    """Every variable the container adds for ``launch`` (on top of the inherited env)."""
    if launch not in LAUNCH_STYLES:
        raise ValueError(f"launch must be one of {LAUNCH_STYLES}, got {launch!r}")
    style = legacy_environment(ctx) if launch == LEGACY else v3_environment(ctx)
    return image_environment(ctx) | style
