"""The Training stack: the training job definition (state machine) and the model registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from sagestack import paths
from sagestack.contract import metrics, prefixes
from stacks.constructs.discovery import Discovery
from stacks.constructs.notifications import notification_key
from stacks.constructs.retention import retention
from stacks.constructs.training.construct import TrainingJob
from stacks.constructs.training.props import (
    ApprovalStatus,
    MetricDefinition,
    MetricDirection,
    S3Distribution,
    TrainingJobProps,
    TrainingMode,
    TuningProps,
)
from stacks.data_stack import DataStack
from stacks.iam_stack import IamStack
from stacks.network_stack import NetworkStack


@dataclass(frozen=True, kw_only=True)
class TrainingStackProps:
    """What one environment configures about training; the rest comes from the other stacks."""

    environment: str
    instance_type: str
    instance_count: int
    quality_gate_threshold: float
    hyperparameters: Mapping[str, str] = field(
        default_factory=lambda: {"objective": "binary:logistic", "num_round": "100"}
    )
    """Default hyperparameters (strings); an execution's input merges over them."""
    eval_metric: str = "auc"
    """The gated metric is validation:<eval_metric>; its direction follows XGBoost's."""
    mode: TrainingMode = TrainingMode.SCRIPT
    """SCRIPT runs training/train.py; ALGORITHM runs the built-in XGBoost algorithm."""
    approval_status: ApprovalStatus = ApprovalStatus.PENDING_MANUAL_APPROVAL
    """Status of newly registered model packages; default PendingManualApproval."""
    use_spot_instances: bool = True
    """Managed spot training with checkpoints; default True."""
    max_runtime_s: int = 3600
    """MaxRuntimeInSeconds per training job; default one hour."""
    max_wait_s: int = 7200
    """MaxWaitTimeInSeconds with spot; default two hours."""
    train_distribution: S3Distribution = S3Distribution.FULLY_REPLICATED
    """Train channel distribution; SHARDED_BY_S3_KEY for distributed training on split files."""
    schedule_expression: str | None = None
    """EventBridge rate()/cron() to retrain on; default: none."""
    trigger_on_new_training_data: bool = False
    """Train on new objects under train/ (the data bucket must have EventBridge enabled)."""
    new_training_data_key_suffix: str = ""
    """With the trigger, only keys ending with this (e.g. _SUCCESS) start a run."""
    tuning: TuningProps | None = None
    """Tune hyperparameters instead of training once; default: no tuning."""
    log_retention_days: int = 365
    """Retention of the state machine's execution log (a CloudWatch Logs value)."""
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
        data: DataStack,
        network: NetworkStack,
        roles: IamStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        refs = data.refs_for(self)
        self.add_stack_dependency(network, "uses the isolated subnets and workload security group")
        self.add_stack_dependency(roles, "passes the training role to SageMaker")
        direction = MetricDirection(metrics.metric_direction(props.eval_metric))
        definitions = None
        hyperparameters = dict(props.hyperparameters)
        if props.mode is TrainingMode.SCRIPT:
            # The regexes the training script's own log format is tested against; the script
            # prints exactly this metric, so the metric definitions match the log.
            definitions = [
                MetricDefinition(name=d["Name"], regex=d["Regex"])
                for d in metrics.metric_definitions(props.eval_metric)
            ]
            hyperparameters.setdefault("eval_metric", props.eval_metric)
        self.training = TrainingJob(
            self,
            "TrainingJob",
            props=TrainingJobProps(
                data_bucket=refs.data_bucket,
                artifacts_bucket=refs.artifacts_bucket,
                encryption_key=refs.key,
                training_role=roles.training_role,
                subnets=network.subnets,
                security_groups=[network.security_group],
                model_package_group_name=props.model_package_group_name,
                create_model_package_group=False,  # the Data stack owns and retains it
                quality_gate_threshold=props.quality_gate_threshold,
                quality_gate_direction=direction,
                mode=props.mode,
                source_dir=props.source_dir if props.mode is TrainingMode.SCRIPT else None,
                serving_code_dir=(
                    props.serving_code_dir if props.mode is TrainingMode.SCRIPT else None
                ),
                hyperparameters=hyperparameters,
                eval_metric=props.eval_metric,
                metric_definitions=definitions,
                approval_status=props.approval_status,
                instance_type=props.instance_type,
                instance_count=props.instance_count,
                use_spot_instances=props.use_spot_instances,
                max_runtime_s=props.max_runtime_s,
                max_wait_s=props.max_wait_s,
                train_distribution=props.train_distribution,
                output_prefix=prefixes.TRAINING_MODELS,
                checkpoint_prefix=prefixes.TRAINING_CHECKPOINTS,
                job_name_prefix=f"sagestack-{props.environment}-train",
                schedule_expression=props.schedule_expression,
                trigger_on_new_training_data=props.trigger_on_new_training_data,
                new_training_data_key_suffix=props.new_training_data_key_suffix,
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
