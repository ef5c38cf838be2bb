"""The TrainingJob construct: composes the job definition, state machine, grants and triggers."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagestack import paths
from stacks.constructs.image_uri import XGBOOST_VERSION, xgboost_image_uri
from stacks.constructs.model_registry import model_package_group
from stacks.constructs.notifications import (
    notification_topic,
)
from stacks.constructs.source_asset import SourceAsset, SourceAssetProps
from stacks.constructs.state_machines import allow_logs_and_topics
from stacks.constructs.training.grants import (
    acknowledge_inline_policies,
    grant_state_machine,
    grant_training_role,
)
from stacks.constructs.training.job_definition import JobDefinition
from stacks.constructs.training.props import TrainingJobProps, TrainingMode
from stacks.constructs.training.state_machine import training_state_machine
from stacks.constructs.training.triggers import add_triggers
from training.sm_constants import SERVING_CODE_DIR


def code_asset_props(source_dir: Path, serving_code_dir: Path | None = None) -> SourceAssetProps:
    """The script-mode code archive: ``source_dir`` at the root, the serving code under
    ``inference/`` (the job copies it into the model), and the standard-library
    ``sagestack.contract`` package the scripts import (``sagestack.paths.contract_files``)."""
    return SourceAssetProps(
        source_dir=source_dir,
        extra_dirs={SERVING_CODE_DIR: serving_code_dir} if serving_code_dir else {},
        extra_files=paths.contract_files(),
    )


class TrainingJob(Construct):
    """A state machine that IS the training job definition.

    Execution input (every key optional)::

        {"train_s3_uri": "s3://…/train/", "validation_s3_uri": "s3://…/validation/",
         "hyperparameters": {"num_round": "200"}, "instance_type": "ml.m5.2xlarge",
         "instance_count": 2}

    Steps: CreateTrainingJob.sync (or CreateHyperParameterTuningJob.sync), a quality gate on
    the final ``validation:<metric>``, and CreateModelPackage in the group this construct
    declares. The output is ``{"model_package_arn": …}``.

    Every part creates its resources directly under this construct, in the order below, so
    the construct tree and the logical IDs do not depend on how the code is split.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: TrainingJobProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        key = props.encryption_key
        topic_key = allow_logs_and_topics(key, props.notification_key)

        self.training_image = xgboost_image_uri(self, "training")
        self.inference_image = xgboost_image_uri(self, "inference")
        self.code: SourceAsset | None = None
        if props.mode is TrainingMode.SCRIPT:
            assert props.source_dir is not None
            serving = Path(props.serving_code_dir) if props.serving_code_dir else None
            self.code = SourceAsset(
                self, "Code", props=code_asset_props(Path(props.source_dir), serving)
            )

        self.model_package_group: sagemaker.CfnModelPackageGroup | None = None
        if props.create_model_package_group:
            self.model_package_group = model_package_group(
                self,
                props.model_package_group_name,
                f"XGBoost {XGBOOST_VERSION} models that passed the {props.gate_metric_name} "
                "quality gate",
            )
        self.topic = notification_topic(self, "FailureTopic", topic_key)

        self.job_definition = JobDefinition(
            props=props,
            training_image=self.training_image,
            code=self.code,
            output_s3_uri=(
                f"s3://{props.artifacts_bucket.bucket_name}/{props.output_prefix.rstrip('/')}"
            ),
        )
        self.state_machine = training_state_machine(
            self,
            job_definition=self.job_definition,
            inference_image=self.inference_image,
            key=key,
            topic=self.topic,
        )
        if self.model_package_group is not None:
            self.state_machine.node.add_dependency(self.model_package_group)
        grant_state_machine(self.state_machine, props)
        self.training_role_policy: iam.ManagedPolicy | None = grant_training_role(
            self, props, self.code
        )
        add_triggers(self, props, self.state_machine)
        acknowledge_inline_policies(self.state_machine)

    @property
    def model_package_group_arn(self) -> str:
        if self.model_package_group is not None:
            return self.model_package_group.attr_model_package_group_arn
        return Stack.of(self).format_arn(
            service="sagemaker",
            resource="model-package-group",
            resource_name=self.props.model_package_group_name,
        )
