"""Run a command the way the XGBoost image runs it: /opt/ml from a test folder, and no network.

``unshare --net --mount`` (root) gives the command a network namespace with nothing but a
loopback interface, and a mount namespace in which /opt is an empty tmpfs and /opt/ml is the
test's folder, so the toolkit and our scripts use their real, hard-coded /opt/ml paths and any
package index is unreachable for real. HOME, the pip cache and pip's config are fresh too: the
image's pip has no local wheel folders to fall back on.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
TOOLKIT_VENV = REPO / ".toolkit-venv"

# The image's Dockerfile ENV lines that the toolkit and our scripts read, with the training and
# serving modules replaced by image_glue (see its docstring).
IMAGE_ENVIRONMENT = {
    "SM_INPUT": "/opt/ml/input",
    "SM_INPUT_TRAINING_CONFIG_FILE": "/opt/ml/input/config/hyperparameters.json",
    "SM_INPUT_DATA_CONFIG_FILE": "/opt/ml/input/config/inputdataconfig.json",
    "SM_CHECKPOINT_CONFIG_FILE": "/opt/ml/input/config/checkpointconfig.json",
    "SM_MODEL_DIR": "/opt/ml/model",
    "SAGEMAKER_TRAINING_MODULE": "image_glue:train",
    "SAGEMAKER_SERVING_MODULE": "image_glue:main",
}

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_ENTER = (
    "set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /opt; mkdir /opt/ml; "
    'mount --bind "$SANDBOX_OPT_ML" /opt/ml; ip link set lo up; unset SANDBOX_OPT_ML; exec "$@"'
)


def write_training_config(
    opt_ml: Path, hyperparameters: Mapping[str, str], channels: Mapping[str, str]
) -> None:
    """The three files SageMaker writes under /opt/ml/input/config for a one-host job."""
    config = opt_ml / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(dict(hyperparameters)))
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                name: {
                    "ContentType": content_type,
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                    "RecordWrapperType": "None",
                }
                for name, content_type in channels.items()
            }
        )
    )
    (config / "resourceconfig.json").write_text(
        json.dumps(
            {
                "current_host": "algo-1",
                "hosts": ["algo-1"],
                "network_interface_name": "eth0",
                "current_instance_type": "ml.m5.large",
            }
        )
    )
    for name in ("model", "output/data", "code"):
        (opt_ml / name).mkdir(parents=True, exist_ok=True)


@contextmanager
def _one_at_a_time() -> Iterator[None]:
    """The toolkit pip-installs the user's code into the shared toolkit venv: one run at a time."""
    with open(TOOLKIT_VENV / ".sandbox.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_in_image(
    opt_ml: Path,
    argv: Sequence[str],
    environment: Mapping[str, str],
    home: Path,
    timeout_s: float = 240,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` with the toolkit venv first on PATH, the image's ENV plus ``environment``."""
    home.mkdir(parents=True, exist_ok=True)
    env: dict[str, Any] = {
        "PATH": f"{TOOLKIT_VENV / 'bin'}:{SYSTEM_PATH}",
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # With no route, every retry fails the same way at once; pip's five retries with backoff
        # would only add ~8 s to each install that needs an index (same outcome, same message).
        "PIP_RETRIES": "0",
        "PYTHONPATH": str(HERE),
        "LANG": "C.UTF-8",
        "AWS_REGION": "eu-west-1",
        "SANDBOX_OPT_ML": str(opt_ml),
        **IMAGE_ENVIRONMENT,
        **environment,
    }
    with _one_at_a_time():
        return subprocess.run(
            ["unshare", "--net", "--mount", "/bin/sh", "-c", _ENTER, "sandbox", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
