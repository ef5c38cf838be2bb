"""Every SageMaker name the training script reads or writes: env vars, /opt/ml paths, file names.

Kept in one module so a reader can check the whole contract (../shared/SAGEMAKER_CONTRACT.md
sections 1.1-1.3, 1.9, 1.10) against one list, and so the local runtime and the container can
never disagree about a spelling. Standard library only and no sibling imports: the CDK app
imports it too, as `training.sm_constants`.
"""

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
DEFAULT_MODEL_DIR = "/opt/ml/model"
DEFAULT_OUTPUT_DATA_DIR = "/opt/ml/output/data"
DEFAULT_OUTPUT_DIR = "/opt/ml/output"
DEFAULT_INPUT_DIR = "/opt/ml/input"
DEFAULT_INPUT_CONFIG_DIR = "/opt/ml/input/config"
DEFAULT_CHECKPOINT_DIR = "/opt/ml/checkpoints"

HYPERPARAMETERS_FILE = "hyperparameters.json"
INPUT_DATA_CONFIG_FILE = "inputdataconfig.json"
RESOURCE_CONFIG_FILE = "resourceconfig.json"
CHECKPOINT_CONFIG_FILE = "checkpointconfig.json"
FAILURE_FILE = "failure"
FAILURE_REASON_MAX_CHARS = 1024  # DescribeTrainingJob.FailureReason keeps this many

# --- Artifacts ---
MODEL_FILE = "xgboost-model"  # the only file at the top of SM_MODEL_DIR (serving loads every one)
CHECKPOINT_PREFIX = "xgboost-checkpoint."  # + iteration, as the built-in algorithm names them
CHECKPOINTS_TO_KEEP = 5
EVALUATION_FILE = "evaluation.json"
# The Training stack ships inference/ next to train.py; the job copies it to <model dir>/code/,
# where a network-isolated endpoint finds it (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code).
SERVING_CODE_DIR = "inference"
MODEL_CODE_DIR = "code"

# --- Channels and content types (built-in algorithm names, contract 1.9) ---
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
