"""Lays out one host's /opt/ml-like directory for a local training job."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sagestack.contract.launch import CODE_CHANNEL
from sagestack.local.channels import Channel, local_files

# The v3 SDK adds these two channels itself (ModelTrainer source_code; CODE_CHANNEL is also the
# one our ContainerEntrypoint unpacks), so a script run that way sees them in SM_CHANNELS and
# inputdataconfig.json; emulating them catches scripts that reject unknown channels.
DRIVERS_CHANNEL = "sm_drivers"
INSTANCE_GROUP = "homogeneousCluster"
NETWORK_INTERFACE = "eth0"
_CODE_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo")


@dataclass(frozen=True)
class HostDir:
    """The paths one host sees, mirroring /opt/ml (``root`` stands for /opt/ml)."""

    root: Path
    host: str
    checkpoint_dir: Path

    @property
    def input_dir(self) -> Path:
        return self.root / "input"

    @property
    def config_dir(self) -> Path:
        return self.input_dir / "config"

    @property
    def data_dir(self) -> Path:
        return self.input_dir / "data"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_dir(self) -> Path:
        return self.root / "output"

    @property
    def output_data_dir(self) -> Path:
        return self.output_dir / "data"

    @property
    def intermediate_dir(self) -> Path:
        return self.output_dir / "intermediate"

    @property
    def failure_file(self) -> Path:
        return self.output_dir / "failure"

    @property
    def code_dir(self) -> Path:
        """Legacy script mode's /opt/ml/code."""
        return self.root / "code"

    @property
    def hyperparameters_file(self) -> Path:
        return self.config_dir / "hyperparameters.json"

    @property
    def input_data_config_file(self) -> Path:
        return self.config_dir / "inputdataconfig.json"

    @property
    def resource_config_file(self) -> Path:
        return self.config_dir / "resourceconfig.json"

    @property
    def checkpoint_config_file(self) -> Path:
        return self.config_dir / "checkpointconfig.json"

    def channel_dir(self, name: str) -> Path:
        return self.data_dir / name


def resource_config(host: str, hosts: list[str], instance_type: str) -> dict[str, Any]:
    """resourceconfig.json with every key the v3 driver requires (it KeyErrors without them)."""
    ordered = sorted(hosts)
    return {
        "current_host": host,
        "current_instance_type": instance_type,
        "current_group_name": INSTANCE_GROUP,
        "hosts": ordered,
        "instance_groups": [
            {
                "instance_group_name": INSTANCE_GROUP,
                "instance_type": instance_type,
                "hosts": ordered,
            }
        ],
        "network_interface_name": NETWORK_INTERFACE,
    }


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def shard(
    files: Sequence[tuple[str, Path]], distribution: str, host_index: int, host_count: int
) -> list[tuple[str, Path]]:
    """The files one host gets. ``ShardedByS3Key``: AWS documents only that each of n
    instances gets about 1/n of the objects (S3DataSource.S3DataDistributionType); we deal
    them out in key order, host i (of the sorted host names) taking objects i, i+n, i+2n...,
    so every host gets floor or ceil of count/n and a host beyond the count gets none."""
    if distribution == "ShardedByS3Key":
        return list(files[host_index::host_count])
    return list(files)


def _populate_channel(target: Path, files: Sequence[tuple[str, Path]]) -> int:
    """Copy a host's share of a channel's files in (relative path -> file).

    Files are copied, not linked, so a script that writes into its input cannot touch the
    user's data or the S3 cache (File mode hands the container its own copy too). Returns
    the file count.
    """
    target.mkdir(parents=True, exist_ok=True)
    for rel, file in files:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, dest)
    return len(files)


def copy_code(source_dir: Path, target: Path, extra_files: Mapping[str, Path]) -> None:
    """Copy a source dir without bytecode caches, as the SDK's source archive would, plus
    ``extra_files`` (relative path -> file) the way the Training stack's archive adds them."""
    shutil.copytree(source_dir, target, ignore=_CODE_IGNORE, dirs_exist_ok=True)
    for name, path in extra_files.items():
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest)


def layout_host(
    host_dir: HostDir,
    *,
    hosts: list[str],
    instance_type: str,
    channels: Mapping[str, Channel],
    hyperparameters_json: Mapping[str, str],
    source_dir: Path,
    entry_point: str,
    launch: str,
    checkpoints: bool = True,
    extra_files: Mapping[str, Path] | None = None,
    channel_files: Mapping[str, Sequence[tuple[str, Path]]] | None = None,
) -> dict[str, dict[str, str]]:
    """Create the directory tree and the config files; returns the inputdataconfig written.

    ``launch`` decides where the code goes: ``legacy`` copies it to ``code/`` (where
    sagemaker-containers puts the submit dir), ``v3`` adds the ``code`` and ``sm_drivers``
    channels the way ModelTrainer does. ``checkpoints=False`` emulates a job without a
    CheckpointConfig: no checkpointconfig.json (scripts take its absence to mean "off").
    ``extra_files`` join the code (archive path -> file; default none). ``channel_files``:
    a channel's files already fetched (relative path -> file), as for s3:// channels; a local
    channel not named there contributes its source's files.
    """
    ordered = sorted(hosts)
    index = ordered.index(host_dir.host)
    for path in (
        host_dir.config_dir,
        host_dir.data_dir,
        host_dir.model_dir,
        host_dir.output_data_dir,
        host_dir.intermediate_dir,
    ):
        path.mkdir(parents=True, exist_ok=True)

    input_data_config = {name: channel.config() for name, channel in channels.items()}
    fetched = channel_files or {}
    for name, channel in channels.items():
        if name in fetched:
            files = fetched[name]
        elif isinstance(channel.source, Path):
            files = local_files(channel.source)
        else:
            raise ValueError(f"channel {name!r}: {channel.source} was not fetched")
        share = shard(files, channel.distribution, index, len(ordered))
        _populate_channel(host_dir.channel_dir(name), share)

    if launch == "legacy":
        copy_code(source_dir, host_dir.code_dir, extra_files or {})
    else:
        copy_code(source_dir, host_dir.channel_dir(CODE_CHANNEL), extra_files or {})
        drivers = host_dir.channel_dir(DRIVERS_CHANNEL)
        drivers.mkdir(parents=True, exist_ok=True)
        _write_json(
            drivers / "sourcecode.json",
            {"source_dir": str(source_dir), "entry_script": entry_point},
        )
        for name in (CODE_CHANNEL, DRIVERS_CHANNEL):
            input_data_config[name] = {
                "TrainingInputMode": "File",
                "S3DistributionType": "FullyReplicated",
                "RecordWrapperType": "None",
            }

    _write_json(host_dir.hyperparameters_file, dict(hyperparameters_json))
    _write_json(host_dir.input_data_config_file, input_data_config)
    _write_json(
        host_dir.resource_config_file,
        resource_config(host_dir.host, ordered, instance_type),
    )
    if checkpoints:
        host_dir.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        _write_json(host_dir.checkpoint_config_file, {"LocalPath": str(host_dir.checkpoint_dir)})
    return input_data_config
