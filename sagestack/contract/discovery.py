"""The SSM parameters the stacks publish and the SDK reads: ``/sagestack/<environment>/<name>``."""

from __future__ import annotations

SSM_PREFIX = "/sagestack"

# Published name -> the stack that publishes it (stacks/*_stack.py): the names the SDK reads.
PUBLISHED_BY = {
    "data-bucket": "Data",
    "artifacts-bucket": "Data",
    "kms-key-arn": "Data",
    "subnet-ids": "Network",
    "security-group-id": "Network",
    "training-role-arn": "Iam",
    "model-role-arn": "Iam",
    "training-state-machine-arn": "Training",
    "model-package-group-name": "Training",
    "endpoint-name": "Serving",
}


# The stacks that publish those values, in deploy order (DevEnvironment publishes none).
PUBLISHING_STACKS = tuple(dict.fromkeys(PUBLISHED_BY.values()))


def stack_name(environment: str, stack_id: str) -> str:
    """The CloudFormation stack name of one of the environment's stacks (stacks/stage.py)."""
    return f"SageStack-{environment}-{stack_id}"


def environment_path(environment: str) -> str:
    """The path every parameter of one environment lives under (GetParametersByPath)."""
    return f"{SSM_PREFIX}/{environment}"


def parameter_name(environment: str, name: str) -> str:
    """The SSM parameter that holds one published value."""
    return f"{environment_path(environment)}/{name}"
