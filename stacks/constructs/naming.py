"""Names and ARNs of the SageMaker jobs that the state machines start."""

from __future__ import annotations

from aws_cdk import Aws

from sagestack.contract.tags import ENVIRONMENT_TAG


def execution_job_name(prefix: str) -> str:
    """An intrinsic giving ``<prefix>-<md5 of the execution ARN>`` (prefix + 33 characters).

    Unique per execution (execution ARNs are), stable across task retries (so a retried Create
    meets ResourceInUse instead of starting a second job), and made of characters SageMaker
    accepts whatever the execution name contains.
    """
    return f"States.Format('{prefix}-{{}}', States.Hash($$.Execution.Id, 'MD5'))"


def short_execution_job_name(prefix: str) -> str:
    """``<prefix>-<8 hex>``, for names limited to 32 characters (tuning jobs)."""
    return (
        f"States.Format('{prefix}-{{}}', "
        "States.ArrayGetItem(States.StringSplit(States.UUID(), '-'), 0))"
    )


def sagemaker_arn(kind: str, name: str) -> str:
    """``arn:<partition>:sagemaker:<region>:<account>:<kind>/<name>`` in the current stack."""
    return f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}:{kind}/{name}"


def sync_events_rule_arn(rule: str) -> str:
    """The managed EventBridge rule Step Functions creates to follow .sync SageMaker jobs."""
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{rule}"


TRAINING = "training"
BATCH_TRANSFORM = "batch-transform"
"""The kinds of state machine an environment has (``state_machine_name``)."""


def job_tags(environment: str | None) -> list[dict[str, str]]:
    """The Tags a state machine puts on the SageMaker jobs it starts: the execution that started
    the job, and this environment's ``sagestack:environment`` tag where one is given."""
    tags = [{"Key": "sagestack:execution", "Value.$": "$$.Execution.Name"}]
    if environment is not None:
        tags.append({"Key": ENVIRONMENT_TAG, "Value": environment})
    return tags


def state_machine_name(environment: str, kind: str) -> str:
    """``sagestack-<environment>-<kind>``: a name chosen here, so the Iam stack (deployed first)
    can grant StartExecution on exactly this environment's state machines and executions."""
    return f"sagestack-{environment}-{kind}"


def model_package_group_name(environment: str) -> str:
    """``sagestack-<environment>``: the Data stack's model registry, named here so the workbench
    roles can review exactly this environment's model package versions."""
    return f"sagestack-{environment}"
