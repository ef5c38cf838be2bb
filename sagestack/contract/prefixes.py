"""Key prefixes in the artifacts bucket: one per writer, so each job role writes only its own.

The stacks grant each role ``<prefix>*`` (stacks/constructs/job_roles.py), and the Training
stack and the SDK write below the training prefix; a key outside its writer's prefix is denied.
"""

from __future__ import annotations

TRAINING = "training/"
"""Training jobs' model artifacts, checkpoints and output data (the training role)."""
DATA_CAPTURE = "data-capture/"
"""Endpoint data capture (the model role)."""
BATCH_TRANSFORM = "batch-transform/"
"""Batch transform output (the model role)."""

TRAINING_MODELS = f"{TRAINING}models/"
"""S3OutputPath of training jobs, the Training stack's and the SDK's."""
TRAINING_CHECKPOINTS = f"{TRAINING}checkpoints/"
"""CheckpointConfig.S3Uri of spot training jobs: ``<prefix><job name>/``."""
SDK_CODE = f"{TRAINING}sdk/code/"
"""Source archives the SDK uploads for its training jobs."""
SDK_MODELS = f"{TRAINING}sdk/models/"
"""Model archives the SDK repacks (with their serving code) before it deploys them."""
