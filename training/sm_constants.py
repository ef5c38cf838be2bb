"""Every SageMaker name the training script reads or writes: env vars, /opt/ml paths, file names.

Kept in one module so a reader can check them against one list. The /opt/ml layout and its file
names come from sagestack.contract.paths (the archive carries that package), so the stacks, the
local runtime and the container can never disagree about a spelling. No sibling imports: the
CDK app imports it too, as `training.sm_constants`.
"""

from sagestack.contract import paths

# --- Environment variables set by SageMaker toolkits (legacy sagemaker-containers and SDK v3) ---
SM_MODEL_DIR = "SM_MODEL_DIR"
SM_OUTPUT_DATA_DIR = "SM_OUTPUT_DATA_DIR"
SM_OUTPUT_DIR = "SM_OUTPUT_DIR"
SM_OUTPUT_FAILURE = "SM_OUTPUT_FAILURE"  # v3 only; the exact failure file path
SM_INPUT_DIR = "SM_INPUT_DIR"
SM_INPUT_CONFIG_DIR = "SM_INPUT_CONFIG_DIR"
SM_CHANNEL_PREFIX = "SM_CHANNEL_"  # SM_CHANNEL_<NAME.upper()>
SM_HPS = "SM_HPS"  # JSON object, values already JSON-decoded
SM_HOSTS = "SM_HOSTS"  # JSON list
SM_CURRENT_HOST = "SM_CURRENT_HOST"
SM_INPUT_DATA_CONFIG = "SM_INPUT_DATA_CONFIG"  # JSON text of inputdataconfig.json
SM_RESOURCE_CONFIG = "SM_RESOURCE_CONFIG"  # JSON text of resourceconfig.json
# Set by the XGBoost image's Dockerfile ENV; the files they name may not exist.
SM_INPUT_TRAINING_CONFIG_FILE = "SM_INPUT_TRAINING_CONFIG_FILE"
SM_INPUT_DATA_CONFIG_FILE = "SM_INPUT_DATA_CONFIG_FILE"
SM_CHECKPOINT_CONFIG_FILE = "SM_CHECKPOINT_CONFIG_FILE"

# Not a SageMaker variable: lets two "hosts" share one machine (tests, the local runtime).
TRACKER_PORT_ENV = "SAGESTACK_TRACKER_PORT"
HOST_ADDRESSES_ENV = "SAGESTACK_HOST_ADDRESSES"  # local runtime: {"algo-1": "127.0.0.1", ...}
DEFAULT_TRACKER_PORT = 9099  # the port the XGBoost container's own tracker uses
COLLECTIVE_TIMEOUT_ENV = "SAGESTACK_COLLECTIVE_TIMEOUT_S"
DEFAULT_COLLECTIVE_TIMEOUT_S = 300

# --- /opt/ml fallbacks, used only when the variable above is absent ---
DEFAULT_MODEL_DIR = paths.MODEL_DIR
DEFAULT_OUTPUT_DATA_DIR = paths.OUTPUT_DATA_DIR
DEFAULT_OUTPUT_DIR = paths.OUTPUT_DIR
DEFAULT_INPUT_DIR = paths.INPUT_DIR
DEFAULT_INPUT_CONFIG_DIR = paths.INPUT_CONFIG_DIR
DEFAULT_CHECKPOINT_DIR = paths.CHECKPOINT_DIR

HYPERPARAMETERS_FILE = paths.HYPERPARAMETERS_FILE
INPUT_DATA_CONFIG_FILE = paths.INPUT_DATA_CONFIG_FILE
RESOURCE_CONFIG_FILE = paths.RESOURCE_CONFIG_FILE
CHECKPOINT_CONFIG_FILE = paths.CHECKPOINT_CONFIG_FILE
FAILURE_FILE = paths.FAILURE_FILE
FAILURE_REASON_MAX_CHARS = 1024  # DescribeTrainingJob.FailureReason keeps this many

# --- Artifacts ---
MODEL_FILE = "xgboost-model"  # the only file at the top of SM_MODEL_DIR (serving loads every one)
CHECKPOINT_PREFIX = "xgboost-checkpoint."  # + iteration, as the built-in algorithm names them
CHECKPOINTS_TO_KEEP = 5
EVALUATION_FILE = "evaluation.json"
# The Training stack ships inference/ next to train.py; the job copies it to <model dir>/code/,
# where a network-isolated endpoint finds it (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code).
SERVING_CODE_DIR = "inference"
MODEL_CODE_DIR = paths.MODEL_CODE_SUBDIR

# --- Channels and content types: the built-in XGBoost algorithm's names (AWS docs, "Input/Output
# Interface for the XGBoost Algorithm") ---
TRAIN_CHANNEL = "train"
VALIDATION_CHANNEL = "validation"
# Channels SDK v3 adds for its own use; never data.
NON_DATA_CHANNELS = frozenset({"code", "sm_drivers"})

CSV = "csv"
LIBSVM = "libsvm"
PARQUET = "parquet"
CONTENT_TYPE_FORMATS = {
    "csv": CSV,
    "text/csv": CSV,
    "libsvm": LIBSVM,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
    "parquet": PARQUET,
    "application/x-parquet": PARQUET,
}
DEFAULT_CONTENT_TYPE = "text/libsvm"  # what the built-in algorithm assumes when none is given
