"""Helpers for the script tests: a throw-away /opt/ml-like job directory and tiny data.

training/ and inference/ are flat script directories (that is how SageMaker runs them), so they
go on sys.path and their modules are imported by their plain names, as in the container. A
uniquely named module rather than conftest.py, so test modules can import it without clashing
with other test directories' conftest modules.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from script_dirs import TRAINING_DIR

FULL_CHANNEL_KEYS = {
    "TrainingInputMode": "File",
    "S3DistributionType": "FullyReplicated",
    "RecordWrapperType": "None",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def csv_text(labels: np.ndarray, features: np.ndarray, fmt: str = "%.6g") -> str:
    rows = np.column_stack([labels, features])
    return "\n".join(",".join(fmt % v for v in row) for row in rows) + "\n"


def binary_data(rows: int = 300, features: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features))
    y = (x[:, 0] + 0.5 * x[:, 1] + 0.3 * rng.standard_normal(rows) > 0).astype(int)
    return y, x


@dataclass
class Job:
    """One training job's directory tree, config files and SM_* environment."""

    root: Path
    hosts: list[str] = field(default_factory=lambda: ["algo-1"])
    current_host: str = "algo-1"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    def channel_dir(self, name: str) -> Path:
        return self.root / "input" / "data" / name

    def write_channel(self, name: str, files: Mapping[str, str | bytes]) -> Path:
        directory = self.channel_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        for file_name, content in files.items():
            path = directory / file_name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return directory

    def write_configs(
        self,
        hyperparameters: dict[str, Any] | None = None,
        content_types: dict[str, str | None] | None = None,
        checkpoints: bool = False,
    ) -> None:
        """The three config JSONs with every key SageMaker writes, as in the AWS docs' "How Amazon
        SageMaker runs your training image" and sagemaker-containers `_env.py`."""
        config = self.root / "input" / "config"
        config.mkdir(parents=True, exist_ok=True)
        channels = {}
        for name, content_type in (content_types or {}).items():
            spec = dict(FULL_CHANNEL_KEYS)
            if content_type:
                spec["ContentType"] = content_type
            channels[name] = spec
        (config / "inputdataconfig.json").write_text(json.dumps(channels))
        (config / "hyperparameters.json").write_text(
            json.dumps({k: str(v) for k, v in (hyperparameters or {}).items()})
        )
        (config / "resourceconfig.json").write_text(
            json.dumps(
                {
                    "current_host": self.current_host,
                    "current_instance_type": "ml.m5.large",
                    "current_group_name": "homogeneousCluster",
                    "hosts": self.hosts,
                    "instance_groups": [
                        {
                            "instance_group_name": "homogeneousCluster",
                            "instance_type": "ml.m5.large",
                            "hosts": self.hosts,
                        }
                    ],
                    "network_interface_name": "eth0",
                }
            )
        )
        if checkpoints:
            (config / "checkpointconfig.json").write_text(
                json.dumps({"LocalPath": str(self.checkpoint_dir), "S3Uri": "s3://bucket/ckpt"})
            )

    def env(self) -> dict[str, str]:
        """The portable SM_* subset plus what both toolkits set for paths."""
        data = self.root / "input" / "data"
        env = {
            "SM_MODEL_DIR": str(self.model_dir),
            "SM_OUTPUT_DATA_DIR": str(self.output_data_dir),
            "SM_OUTPUT_DIR": str(self.root / "output"),
            "SM_INPUT_DIR": str(self.root / "input"),
            "SM_INPUT_CONFIG_DIR": str(self.root / "input" / "config"),
            "SM_CHECKPOINT_CONFIG_FILE": str(
                self.root / "input" / "config" / "checkpointconfig.json"
            ),
            "SM_HOSTS": json.dumps(self.hosts),
            "SM_CURRENT_HOST": self.current_host,
            "TRAINING_JOB_NAME": "test-job",
        }
        if data.is_dir():
            for channel in sorted(p.name for p in data.iterdir()):
                env[f"SM_CHANNEL_{channel.upper()}"] = str(data / channel)
        env.update(self.extra_env)
        return env

    def run(self, argv: list[str]) -> int:
        """In-process run of train.run_job, the fast way to test one behaviour."""
        import train

        return train.run_job(argv, self.env())

    def failure(self) -> str:
        return self.failure_file.read_text() if self.failure_file.exists() else ""

    def popen(self, style: str, args: list[str], **kwargs) -> subprocess.Popen:
        """Launch train.py the way a container would: B legacy `python -m train` from a copy of
        the submit dir as cwd, or C SDK v3 `python3 train.py` from the code channel."""
        env = {**os.environ, **self.env(), "PYTHONUNBUFFERED": "1"}
        code = self.root / "code"
        if not code.exists():
            shutil.copytree(TRAINING_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
        command = [sys.executable, "-m", "train"] if style == "B" else [sys.executable, "train.py"]
        return subprocess.Popen(
            command + args,
            cwd=code,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            **kwargs,
        )
