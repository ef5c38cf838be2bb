"""The Training stack: the training job definition (state machine) and the model registry."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from sagestack import paths
from sagestack.contract import metrics, prefixes
from stacks.constructs import prop_checks
from stacks.constructs.discovery import Discovery
from stacks.constructs.naming import TRAINING, state_machine_name
from stacks.constructs.notifications import notification_key
from stacks.constructs.retention import retention
from stacks.constructs.training.construct import TrainingJob
from stacks.constructs.training.props import (
    MetricDefinition,
    MetricDirection,
    S3Distribution,
    TrainingJobProps,
    TrainingMode,
    TrainingSettings,
    TuningProps,
)
from stacks.foundation import Foundation


@dataclass(frozen=True, kw_only=True)
class TrainingStackProps:
    """What one environment configures about training; the rest comes from the other stacks."""

    environment: str
    training: TrainingSettings
    """The cdk.json ``training`` section, passed to TrainingJobProps under the same names."""
    log_retention_days: int
    """Retention of the state machine's execution log (a CloudWatch Logs value)."""
    train_distribution: S3Distribution = S3Distribution.FULLY_REPLICATED
    """Train channel distribution; SHARDED_BY_S3_KEY for distributed training on split files."""
    new_data_key_suffix: str = ""
    """With the trigger, only keys ending with this (e.g. _SUCCESS) start a run."""
    tuning: TuningProps | None = None
    """Tune hyperparameters instead of training once; default: no tuning."""
    source_dir: Path = paths.training_dir()
    """The script-mode code shipped as the submit directory; default the repo's training/."""
    serving_code_dir: Path | None = paths.inference_dir()
    """Inference code that train.py bundles into the model's code/ (so the registered model
    serves with network isolation); default the repo's inference/."""

    @property
    def model_package_group_name(self) -> str:
        return f"sagestack-{self.environment}"


class TrainingStack(Stack):
    """Composes the TrainingJob construct from the Data, Network and Iam stacks' outputs.

    Artifacts and checkpoints go under the artifacts bucket's training/ prefix, the one prefix
    the foundation's training role may write.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: TrainingStackProps,
        foundation: Foundation,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network, roles = foundation.network, foundation.roles
        refs = foundation.job_stack_refs(self, role_use="passes the training role to SageMaker")
        settings = props.training
        script_mode = settings.mode is TrainingMode.SCRIPT
        direction = MetricDirection(metrics.metric_direction(settings.eval_metric))
        definitions = None
        hyperparameters = dict(settings.hyperparameters)
        if script_mode:
            # The regexes the training script's own log format is tested against; the script
            # prints exactly this metric, so the metric definitions match the log.
            definitions = [
                MetricDefinition(name=d["Name"], regex=d["Regex"])
                for d in metrics.metric_definitions(settings.eval_metric)
            ]
            hyperparameters.setdefault("eval_metric", settings.eval_metric)
        self.training = TrainingJob(
            self,
            "TrainingJob",
            props=TrainingJobProps(
                # The one mapping from cdk.json: every setting under its own name.
                **{**prop_checks.settings_of(settings), "hyperparameters": hyperparameters},
                data_bucket=refs.data_bucket,
                artifacts_bucket=refs.artifacts_bucket,
                encryption_key=refs.key,
                training_role=roles.training_role,
                subnets=network.subnets,
                security_groups=[network.security_group],
                model_package_group_name=props.model_package_group_name,
                create_model_package_group=False,  # the Data stack owns and retains it
                quality_gate_direction=direction,
                source_dir=props.source_dir if script_mode else None,
                serving_code_dir=props.serving_code_dir if script_mode else None,
                metric_definitions=definitions,
                train_distribution=props.train_distribution,
                output_prefix=prefixes.TRAINING_MODELS,
                checkpoint_prefix=prefixes.TRAINING_CHECKPOINTS,
                job_name_prefix=f"sagestack-{props.environment}-train",
                state_machine_name=state_machine_name(props.environment, TRAINING),
                environment_tag=props.environment,
                new_data_key_suffix=props.new_data_key_suffix,
                tuning=props.tuning,
                log_retention=retention(props.log_retention_days),
                # The foundation's training role already reads the buckets, writes training/
                # and uses the key; the construct adds only the code asset it uploads.
                grant_role_access=False,
                # The data key is imported here, so its policy cannot admit EventBridge.
                notification_key=notification_key(self, "NotificationKey"),
            ),
        )

        discovery = Discovery(self, "Discovery", environment=props.environment)
        discovery.publish(
            "training-state-machine-arn",
            self.training.state_machine.state_machine_arn,
            "Training job definition: start an execution to train, gate and register",
        )
        discovery.publish(
            "model-package-group-name",
            props.model_package_group_name,
            "Model package group the training state machine registers models in",
        )
        discovery.publish(
            "training-failure-topic-arn",
            self.training.topic.topic_arn,
            "SNS topic for failed, timed-out and aborted training executions",
        )
