"""The ServingEndpoint construct: composes endpoint, autoscaling, monitoring, batch transform."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.image_uri import xgboost_image_uri
from stacks.constructs.notifications import (
    notification_topic,
)
from stacks.constructs.serving.autoscaling import add_autoscaling
from stacks.constructs.serving.batch_transform import add_batch_transform
from stacks.constructs.serving.endpoint import add_endpoint, add_endpoint_config, add_model
from stacks.constructs.serving.grants import grant_model_role
from stacks.constructs.serving.monitoring import (
    RollbackAlarmNames,
    add_dashboard,
    add_rollback_alarms,
)
from stacks.constructs.serving.props import EndpointProps
from stacks.constructs.source_asset import SourceAsset, SourceAssetProps
from stacks.constructs.state_machines import allow_logs_and_topics


class ServingEndpoint(Construct):
    """Model + EndpointConfig + Endpoint (no physical names) and a batch transform definition.

    A new model (package ARN, artifact URL, image or code) replaces the Model and the
    EndpointConfig, so CloudFormation updates the Endpoint through the blue/green deployment
    config, rolling back automatically if the 5xx or latency alarm fires.

    Every part creates its resources directly under this construct (the transform under its
    ``BatchTransform`` child), in the order below, so the construct tree and the logical IDs do
    not depend on how the code is split.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: EndpointProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        key = props.encryption_key
        topic_key = allow_logs_and_topics(key, props.notification_key)
        self.image = xgboost_image_uri(self, "inference")
        self.topic = notification_topic(self, "AlarmTopic", topic_key)

        self.code: SourceAsset | None = None
        if not props.isolated:
            self.code = SourceAsset(
                self, "Code", props=SourceAssetProps(source_dir=Path(props.source_dir))
            )
        self.model = add_model(self, props, self.image, self.code)
        self.endpoint_config = add_endpoint_config(self, props, self.model)
        alarm_names = RollbackAlarmNames.of(self)
        self.endpoint = add_endpoint(
            self, props, self.endpoint_config, [alarm_names.errors, alarm_names.latency]
        )
        rollback = add_rollback_alarms(self, props, self.endpoint, alarm_names, self.topic)
        self.errors_metric: cloudwatch.Metric = rollback.errors_metric
        self.latency_metric: cloudwatch.Metric = rollback.latency_metric
        self.alarms: list[cloudwatch.Alarm] = rollback.alarms
        self.scalable_target: appscaling.ScalableTarget | None = None
        if props.instance_variant:
            self.scalable_target = add_autoscaling(self, props, self.endpoint)
        self.dashboard = add_dashboard(self, props, self.endpoint, self.alarms)
        self.model_role_policy: iam.ManagedPolicy | None = grant_model_role(
            self, props, self.code, self.model
        )
        self.transform_state_machine = add_batch_transform(self, props, self.model, self.topic)

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.attr_endpoint_name

    @property
    def model_name(self) -> str:
        return self.model.attr_model_name
