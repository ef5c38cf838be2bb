"""The Serving stack: endpoint (model, config, guarded blue/green updates) and batch transform."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack
from constructs import Construct

from sagestack import paths
from sagestack.contract import prefixes
from stacks.constructs import prop_checks
from stacks.constructs.discovery import Discovery
from stacks.constructs.naming import BATCH_TRANSFORM, state_machine_name
from stacks.constructs.notifications import notification_key
from stacks.constructs.retention import retention
from stacks.constructs.serving.construct import ServingEndpoint
from stacks.constructs.serving.props import EndpointProps, ServingSettings
from stacks.foundation import Foundation

ARTIFACTS_BUCKET_PLACEHOLDER = "{artifacts_bucket}"
"""In ``model_data_url``, stands for this environment's artifacts bucket name."""


@dataclass(frozen=True, kw_only=True)
class ServingStackProps:
    """What one environment configures about serving; the rest comes from the other stacks."""

    environment: str
    serving: ServingSettings
    """The cdk.json ``serving`` section, passed to EndpointProps under the same names;
    ``{artifacts_bucket}`` in its ``model_data_url`` stands for the artifacts bucket name."""
    log_retention_days: int
    """Retention of the batch transform state machine's log (a CloudWatch Logs value)."""
    source_dir: Path = paths.inference_dir()
    """The inference code (SAGEMAKER_PROGRAM=inference.py); default the repo's inference/."""


class ServingStack(Stack):
    """Composes the ServingEndpoint construct from the Data, Network and Iam stacks' outputs."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: ServingStackProps,
        foundation: Foundation,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network, roles = foundation.network, foundation.roles
        refs = foundation.job_stack_refs(self, role_use="runs the model with the model role")
        settings = props.serving
        model_data_url = settings.model_data_url
        if model_data_url is not None:
            model_data_url = model_data_url.replace(
                ARTIFACTS_BUCKET_PLACEHOLDER, refs.artifacts_bucket.bucket_name
            )
        self.serving = ServingEndpoint(
            self,
            "Endpoint",
            props=EndpointProps(
                # The one mapping from cdk.json: every setting under its own name.
                **{**prop_checks.settings_of(settings), "model_data_url": model_data_url},
                artifacts_bucket=refs.artifacts_bucket,
                data_bucket=refs.data_bucket,
                encryption_key=refs.key,
                model_role=roles.model_role,
                subnets=network.subnets,
                security_groups=[network.security_group],
                source_dir=props.source_dir,
                data_capture_prefix=prefixes.DATA_CAPTURE,
                transform_output_prefix=prefixes.BATCH_TRANSFORM,
                model_artifacts_prefix=prefixes.TRAINING,
                transform_job_name_prefix=f"sagestack-{props.environment}-batch",
                transform_state_machine_name=state_machine_name(props.environment, BATCH_TRANSFORM),
                environment_tag=props.environment,
                log_retention=retention(props.log_retention_days),
                # The foundation's model role already reads artifacts and data, writes
                # data-capture/ and batch-transform/ and uses the key; the construct adds only
                # the code asset it uploads.
                grant_role_access=False,
                # The data key is imported here, so its policy cannot admit the alarms.
                notification_key=notification_key(self, "NotificationKey"),
            ),
        )

        discovery = Discovery(self, "Discovery", environment=props.environment)
        discovery.publish(
            "endpoint-name", self.serving.endpoint_name, "Real-time endpoint of the served model"
        )
        discovery.publish(
            "batch-transform-state-machine-arn",
            self.serving.transform_state_machine.state_machine_arn,
            "Batch transform definition: start an execution with {'input_s3_uri': ...}",
        )
        discovery.publish(
            "serving-alarm-topic-arn",
            self.serving.topic.topic_arn,
            "SNS topic of the endpoint's rollback alarms",
        )
