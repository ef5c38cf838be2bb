"""Where this job's inputs and outputs live: SM_* variables first, /opt/ml as the fallback.

The three launch paths set different subsets of variables (sagemaker-containers' `_env.py`, SDK v3's
driver, or none at all for ContainerEntrypoint), and the local runtime
points them all at a temporary job directory, so nothing else in the script may hard-code a path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sm_constants as c
from job_errors import UserError


@dataclass(frozen=True)
class JobEnv:
    """Resolved locations and cluster layout for one training run."""

    model_dir: str
    output_data_dir: str
    failure_path: str
    input_config_dir: str
    channels: dict[str, str]
    input_data_config: dict[str, Any]
    hosts: list[str]
    current_host: str
    checkpoint_dir: str | None
    hyperparameters_file: str
    tracker_port: int = c.DEFAULT_TRACKER_PORT
    collective_timeout_s: int = c.DEFAULT_COLLECTIVE_TIMEOUT_S
    notes: list[str] = field(default_factory=list)

    @property
    def is_distributed(self) -> bool:
        return len(self.hosts) > 1

    @property
    def is_master(self) -> bool:
        """The first sorted host saves the model, as the built-in algorithm does (its
        `train_utils.py`)."""
        return self.current_host == sorted(self.hosts)[0]


def failure_path(environ: Mapping[str, str]) -> str:
    """SM_OUTPUT_FAILURE (v3), else $SM_OUTPUT_DIR/failure, else /opt/ml/output/failure.

    Resolved separately from JobEnv so that even a broken resourceconfig.json can be reported.
    """
    if environ.get(c.SM_OUTPUT_FAILURE):
        return environ[c.SM_OUTPUT_FAILURE]
    return os.path.join(environ.get(c.SM_OUTPUT_DIR, c.DEFAULT_OUTPUT_DIR), c.FAILURE_FILE)


def _json_from_env_or_file(environ: Mapping[str, str], var: str, path: str, what: str) -> Any:
    text = environ.get(var)
    source = f"${var}"
    if not text and os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        source = path
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"{what} in {source} is not valid JSON: {e}") from e


def _channels(environ: Mapping[str, str], input_dir: str, declared: Mapping[str, Any]) -> dict:
    """SM_CHANNEL_<NAME> wins; a channel declared in inputdataconfig.json or present on disk
    under <input>/data/<name> is the fallback (built-in style launches set no SM_* at all)."""
    channels: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith(c.SM_CHANNEL_PREFIX) and value:
            name = key[len(c.SM_CHANNEL_PREFIX) :].lower()
            if name not in c.NON_DATA_CHANNELS:
                channels[name] = value
    data_dir = os.path.join(input_dir, "data")
    for name in {c.TRAIN_CHANNEL, c.VALIDATION_CHANNEL, *declared}:
        if name not in channels and name not in c.NON_DATA_CHANNELS:
            candidate = os.path.join(data_dir, name)
            if os.path.isdir(candidate):
                channels[name] = candidate
    return channels


def _checkpoint_dir(environ: Mapping[str, str], path: str) -> tuple[str | None, str]:
    """LocalPath from checkpointconfig.json when SageMaker wrote one; else /opt/ml/checkpoints if
    it exists. The XGBoost image always sets SM_CHECKPOINT_CONFIG_FILE, but the file only exists
    when the job has a CheckpointConfig, so the variable alone does not enable checkpoints."""
    if os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as f:
                local_path = json.load(f).get("LocalPath") or c.DEFAULT_CHECKPOINT_DIR
        except (json.JSONDecodeError, AttributeError) as e:
            raise UserError(f"{path} is not a JSON object with LocalPath: {e}") from e
        return local_path, f"checkpoints in {local_path} (from {path})"
    if os.path.isdir(c.DEFAULT_CHECKPOINT_DIR):
        return c.DEFAULT_CHECKPOINT_DIR, f"checkpoints in {c.DEFAULT_CHECKPOINT_DIR}"
    return None, "checkpointing off (no checkpointconfig.json and no /opt/ml/checkpoints)"


def _int_env(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise UserError(f"${name}={raw!r} is not an integer") from e


def _config_file(environ: Mapping[str, str], config_dir: str, file_var: str, name: str) -> str:
    """An explicit SM_INPUT_CONFIG_DIR (the local runtime) beats the image's per-file ENV defaults,
    which all point into /opt/ml/input/config anyway."""
    if environ.get(c.SM_INPUT_CONFIG_DIR) or not environ.get(file_var):
        return os.path.join(config_dir, name)
    return environ[file_var]


def from_environ(environ: Mapping[str, str]) -> JobEnv:
    """Build the JobEnv for this process. Pure apart from reading the config files it names."""
    input_dir = environ.get(c.SM_INPUT_DIR, c.DEFAULT_INPUT_DIR)
    config_dir = environ.get(c.SM_INPUT_CONFIG_DIR) or os.path.join(input_dir, "config")

    input_data_config = (
        _json_from_env_or_file(
            environ,
            c.SM_INPUT_DATA_CONFIG,
            _config_file(
                environ, config_dir, c.SM_INPUT_DATA_CONFIG_FILE, c.INPUT_DATA_CONFIG_FILE
            ),
            "The input data config",
        )
        or {}
    )
    if not isinstance(input_data_config, dict):
        raise UserError("inputdataconfig.json must be a JSON object keyed by channel name")

    resource = (
        _json_from_env_or_file(
            environ,
            c.SM_RESOURCE_CONFIG,
            os.path.join(config_dir, c.RESOURCE_CONFIG_FILE),
            "The resource config",
        )
        or {}
    )
    hosts_raw = environ.get(c.SM_HOSTS)
    try:
        hosts = json.loads(hosts_raw) if hosts_raw else resource.get("hosts")
    except json.JSONDecodeError as e:
        raise UserError(f"${c.SM_HOSTS}={hosts_raw!r} is not a JSON list of host names") from e
    current_host = environ.get(c.SM_CURRENT_HOST) or resource.get("current_host")
    if not hosts:
        hosts = [current_host or "algo-1"]
    current_host = current_host or sorted(hosts)[0]
    if current_host not in hosts:
        raise UserError(f"current host {current_host!r} is not in the host list {hosts}")

    checkpoint_dir, checkpoint_note = _checkpoint_dir(
        environ,
        _config_file(environ, config_dir, c.SM_CHECKPOINT_CONFIG_FILE, c.CHECKPOINT_CONFIG_FILE),
    )
    return JobEnv(
        model_dir=environ.get(c.SM_MODEL_DIR, c.DEFAULT_MODEL_DIR),
        output_data_dir=environ.get(c.SM_OUTPUT_DATA_DIR, c.DEFAULT_OUTPUT_DATA_DIR),
        failure_path=failure_path(environ),
        input_config_dir=config_dir,
        channels=_channels(environ, input_dir, input_data_config),
        input_data_config=input_data_config,
        hosts=list(hosts),
        current_host=current_host,
        checkpoint_dir=checkpoint_dir,
        hyperparameters_file=_config_file(
            environ, config_dir, c.SM_INPUT_TRAINING_CONFIG_FILE, c.HYPERPARAMETERS_FILE
        ),
        tracker_port=_int_env(environ, c.TRACKER_PORT_ENV, c.DEFAULT_TRACKER_PORT),
        collective_timeout_s=_int_env(
            environ, c.COLLECTIVE_TIMEOUT_ENV, c.DEFAULT_COLLECTIVE_TIMEOUT_S
        ),
        notes=[checkpoint_note],
    )
