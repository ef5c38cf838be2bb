"""Where SageMaker puts things inside a training or serving container (the /opt/ml tree).

The layout is the one SageMaker documents for your own training and inference containers
("How Amazon SageMaker Provides Training Information", "How Amazon SageMaker Runs Your
Inference Image") and the one sagemaker-containers' ``_env`` module spells out.
"""

from __future__ import annotations

ROOT = "/opt/ml"
INPUT_DIR = f"{ROOT}/input"
INPUT_CONFIG_DIR = f"{INPUT_DIR}/config"
INPUT_DATA_DIR = f"{INPUT_DIR}/data"  # one subdirectory per channel
MODEL_DIR = f"{ROOT}/model"
OUTPUT_DIR = f"{ROOT}/output"
OUTPUT_DATA_DIR = f"{OUTPUT_DIR}/data"
CHECKPOINT_DIR = f"{ROOT}/checkpoints"  # CheckpointConfig.LocalPath's default
# The script-mode code directory (sagemaker-containers ``_env.code_dir``).
CODE_DIR = f"{ROOT}/code"
# Where a model archive that carries its own serving code has it, once SageMaker unpacks the
# archive into MODEL_DIR: the SAGEMAKER_SUBMIT_DIRECTORY of a network-isolated endpoint.
MODEL_CODE_SUBDIR = "code"
MODEL_CODE_DIR = f"{MODEL_DIR}/{MODEL_CODE_SUBDIR}"

# Files in INPUT_CONFIG_DIR.
HYPERPARAMETERS_FILE = "hyperparameters.json"
INPUT_DATA_CONFIG_FILE = "inputdataconfig.json"
RESOURCE_CONFIG_FILE = "resourceconfig.json"
CHECKPOINT_CONFIG_FILE = "checkpointconfig.json"
# In OUTPUT_DIR: its text becomes DescribeTrainingJob.FailureReason.
FAILURE_FILE = "failure"


def channel_dir(channel: str) -> str:
    """Where File mode puts a channel's objects: ``/opt/ml/input/data/<channel>``."""
    return f"{INPUT_DATA_DIR}/{channel}"
