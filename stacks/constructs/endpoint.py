"""Serving: model, endpoint config and endpoint with guarded blue/green updates; batch transform."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, Duration, Fn, Names, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct, IConstruct

from sagestack.contract.launch import TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT
from stacks import nag
from stacks.constructs import job_access, naming, notifications, prop_checks, state_machines
from stacks.constructs.image_uri import XGBOOST_VERSION, xgboost_image_uri
from stacks.constructs.source_asset import SourceAsset, SourceAssetProps

VARIANT_NAME = "AllTraffic"  # blue/green updates need the same variant name in old and new config
# Where the SageMaker SDK points SAGEMAKER_SUBMIT_DIRECTORY when it repacks the inference code
# into model.tar.gz, which it does for network-isolated models (the container cannot download
# an S3 submit directory without a network).
MODEL_CODE_DIR = "/opt/ml/model/code"
_INSTANCE_TYPE_RE = re.compile(r"^ml\.([a-z0-9]+)\.[a-z0-9]+$")
# Families with local NVMe storage, where SageMaker rejects a volume KMS key (m5d, c5d, r5d,
# g4dn, p3dn, p4d, …). Not exhaustive (g5/g6 also have NVMe): the API names the others.
_NVME_FAMILY_RE = re.compile(r"^[a-z]+[0-9]+[a-z]*d[n]?$")
_MODEL_PACKAGE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/.+")


class VariantKind(enum.Enum):
    INSTANCE = "instance"
    SERVERLESS = "serverless"


class TrafficShifting(enum.Enum):
    CANARY = "CANARY"
    LINEAR = "LINEAR"
    ALL_AT_ONCE = "ALL_AT_ONCE"


@dataclass(frozen=True, kw_only=True)
class EndpointProps:
    """A real-time endpoint for one model, and the batch transform definition for it."""

    artifacts_bucket: s3.IBucket
    data_bucket: s3.IBucket
    encryption_key: kms.IKey
    model_role: iam.IRole
    subnets: Sequence[ec2.ISubnet]
    security_groups: Sequence[ec2.ISecurityGroup]
    source_dir: Path
    model_package_arn: str | None = None
    """The registered model to serve (ContainerDefinition.ModelPackageName); set this or
    ``model_data_url``."""
    model_data_url: str | None = None
    """An s3://…/model.tar.gz to serve with the pinned image; set this or ``model_package_arn``."""
    entry_point: str = "inference.py"
    """SAGEMAKER_PROGRAM, inside ``source_dir``; default inference.py."""
    variant_kind: VariantKind = VariantKind.INSTANCE
    """INSTANCE (VPC, KMS volume, data capture, autoscaling) or SERVERLESS; default INSTANCE."""
    instance_type: str = "ml.m5.large"
    """Instance variant type; default ml.m5.large."""
    min_instance_count: int = 1
    """Autoscaling minimum and initial instance count; default 1."""
    max_instance_count: int = 2
    """Autoscaling maximum; default 2."""
    target_invocations_per_instance: int = 100
    """Target-tracking value of SageMakerVariantInvocationsPerInstance (per minute); default 100."""
    scale_in_cooldown_s: int = 300
    """Seconds between scale-in activities; default 300."""
    scale_out_cooldown_s: int = 60
    """Seconds between scale-out activities; default 60."""
    serverless_memory_mib: int = 2048
    """Serverless memory: 1024-6144 in 1024 MiB steps; default 2048."""
    serverless_max_concurrency: int = 5
    """Serverless concurrent invocations, 1-200; default 5."""
    network_isolation: bool = True
    """Instance variants: EnableNetworkIsolation. The container then cannot fetch code from
    S3, so SAGEMAKER_SUBMIT_DIRECTORY is /opt/ml/model/code and the model artifact must carry
    the inference code under code/ (the SDK's repacked layout; train.py bundles it when the
    Training stack ships it, frozen at training time). False: the inference/ asset is
    the submit directory, downloaded through the VPC's S3 endpoint. Serverless: always off."""
    data_capture_sampling_percent: int = 20
    """Share of requests/responses captured to the artifacts bucket (instance variants; 0
    turns capture off); default 20."""
    data_capture_prefix: str = "data-capture/"
    """Capture destination prefix in the artifacts bucket."""
    traffic_shifting: TrafficShifting = TrafficShifting.CANARY
    """Blue/green traffic shifting mode; default CANARY."""
    canary_size_percent: int = 10
    """CANARY: share of capacity that takes traffic first; default 10."""
    linear_step_percent: int = 25
    """LINEAR: capacity share shifted per step; default 25."""
    traffic_wait_s: int = 300
    """Baking time between traffic shifts, 0-3600 s; default 300."""
    termination_wait_s: int = 300
    """Time the old fleet is kept after the shift, 0-3600 s; default 300."""
    max_deployment_s: int = 3600
    """MaximumExecutionTimeoutInSeconds of an update, 600-28800; default 3600."""
    invocation_5xx_errors_threshold: int = 1
    """Rollback alarm: Invocation5XXErrors per minute that trips it; default 1."""
    model_latency_p99_threshold_ms: int = 1000
    """Rollback alarm: p99 ModelLatency (ms) that trips it; default 1000."""
    alarm_evaluation_periods: int = 3
    """One-minute periods an alarm must breach; default 3."""
    container_log_level: int = 20
    """SAGEMAKER_CONTAINER_LOG_LEVEL; default 20 (INFO)."""
    transform_input_prefix: str = "batch-input/"
    """Default batch transform input prefix in the data bucket."""
    transform_output_prefix: str = "batch-output/"
    """Batch transform output prefix in the artifacts bucket (one folder per job)."""
    transform_instance_type: str = "ml.m5.large"
    """Default transform instance type; execution input may override it."""
    transform_instance_count: int = 1
    """Default transform instance count; execution input may override it."""
    transform_max_payload_mib: int = 6
    """MaxPayloadInMB of a MultiRecord batch; default 6 (the built-in serving limit)."""
    transform_max_concurrent: int = 1
    """MaxConcurrentTransforms per instance (payload x concurrency <= 100); default 1."""
    transform_job_name_prefix: str = "sagestack-batch"
    """Transform job names are ``<prefix>-<32 hex>``; at most 30 characters."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    """Retention of the transform state machine's execution log; default one year."""
    model_artifacts_prefix: str = "models/"
    """Artifacts-bucket prefix the model role may read model.tar.gz files from."""
    grant_role_access: bool = True
    """Grant the model role the artifacts/data/key access serving and batch transform need
    (False when the role already has it). Read access to the code asset is granted either way."""
    notification_key: kms.IKey | None = None
    """Key of the alarm topic; default ``encryption_key``, whose policy must then let
    cloudwatch.amazonaws.com and events.amazonaws.com use it (added unless the key is imported)."""

    def __post_init__(self) -> None:
        check = prop_checks.check
        check(
            (self.model_package_arn is None) != (self.model_data_url is None),
            "model_package_arn/model_data_url",
            (self.model_package_arn, self.model_data_url),
            "exactly one of a model package ARN or a model artifact S3 URI",
        )
        if self.model_package_arn is not None and not Token.is_unresolved(self.model_package_arn):
            check(
                bool(_MODEL_PACKAGE_ARN_RE.match(self.model_package_arn)),
                "model_package_arn",
                self.model_package_arn,
                "arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
            )
        if self.model_data_url is not None and not Token.is_unresolved(self.model_data_url):
            check(
                self.model_data_url.startswith("s3://") and self.model_data_url.endswith(".tar.gz"),
                "model_data_url",
                self.model_data_url,
                "an s3://…/model.tar.gz URI",
            )
        prop_checks.check_directory("source_dir", self.source_dir)
        check(
            (Path(self.source_dir) / self.entry_point).is_file(),
            "entry_point",
            self.entry_point,
            f"a file inside {self.source_dir}",
        )
        if self.variant_kind is VariantKind.INSTANCE:
            prop_checks.check_vpc_placement(self.subnets, self.security_groups)
            match = _INSTANCE_TYPE_RE.match(self.instance_type)
            check(
                match is not None,
                "instance_type",
                self.instance_type,
                "an ml.* instance type such as 'ml.m5.large'",
            )
            assert match is not None
            check(
                not _NVME_FAMILY_RE.match(match.group(1)),
                "instance_type",
                self.instance_type,
                "a type without local NVMe storage (SageMaker refuses a KMS volume key there)",
            )
            check(
                1 <= self.min_instance_count <= self.max_instance_count,
                "min_instance_count",
                self.min_instance_count,
                f"between 1 and max_instance_count ({self.max_instance_count})",
            )
            check(
                self.target_invocations_per_instance > 0,
                "target_invocations_per_instance",
                self.target_invocations_per_instance,
                "positive",
            )
            check(
                0 <= self.data_capture_sampling_percent <= 100,
                "data_capture_sampling_percent",
                self.data_capture_sampling_percent,
                "between 0 and 100",
            )
        else:
            check(
                self.serverless_memory_mib in (1024, 2048, 3072, 4096, 5120, 6144),
                "serverless_memory_mib",
                self.serverless_memory_mib,
                "one of 1024, 2048, 3072, 4096, 5120, 6144",
            )
            check(
                1 <= self.serverless_max_concurrency <= 200,
                "serverless_max_concurrency",
                self.serverless_max_concurrency,
                "between 1 and 200",
            )
        check(
            1 <= self.canary_size_percent <= 50,
            "canary_size_percent",
            self.canary_size_percent,
            "between 1 and 50",
        )
        check(
            1 <= self.linear_step_percent <= 50,
            "linear_step_percent",
            self.linear_step_percent,
            "between 1 and 50",
        )
        check(
            0 <= self.traffic_wait_s <= 3600,
            "traffic_wait_s",
            self.traffic_wait_s,
            "between 0 and 3600",
        )
        check(
            0 <= self.termination_wait_s <= 3600,
            "termination_wait_s",
            self.termination_wait_s,
            "between 0 and 3600",
        )
        check(
            600 <= self.max_deployment_s <= 28800,
            "max_deployment_s",
            self.max_deployment_s,
            "between 600 and 28800",
        )
        check(
            self.invocation_5xx_errors_threshold >= 1,
            "invocation_5xx_errors_threshold",
            self.invocation_5xx_errors_threshold,
            "at least 1",
        )
        check(
            self.model_latency_p99_threshold_ms >= 1,
            "model_latency_p99_threshold_ms",
            self.model_latency_p99_threshold_ms,
            "at least 1",
        )
        check(
            self.alarm_evaluation_periods >= 1,
            "alarm_evaluation_periods",
            self.alarm_evaluation_periods,
            "at least 1",
        )
        check(
            self.container_log_level in (10, 20, 30, 40, 50),
            "container_log_level",
            self.container_log_level,
            "a logging level (10, 20, 30, 40 or 50)",
        )
        for name in (
            "data_capture_prefix",
            "transform_input_prefix",
            "transform_output_prefix",
            "model_artifacts_prefix",
        ):
            prop_checks.check_s3_prefix(name, getattr(self, name))
        check(
            bool(_INSTANCE_TYPE_RE.match(self.transform_instance_type)),
            "transform_instance_type",
            self.transform_instance_type,
            "an ml.* instance type",
        )
        check(
            1 <= self.transform_instance_count <= 100,
            "transform_instance_count",
            self.transform_instance_count,
            "between 1 and 100",
        )
        check(
            1 <= self.transform_max_payload_mib <= 100,
            "transform_max_payload_mib",
            self.transform_max_payload_mib,
            "between 1 and 100",
        )
        check(
            self.transform_max_concurrent * self.transform_max_payload_mib <= 100,
            "transform_max_concurrent",
            self.transform_max_concurrent,
            f"at most {100 // self.transform_max_payload_mib} with "
            f"transform_max_payload_mib={self.transform_max_payload_mib}",
        )
        prop_checks.check_name_prefix(
            "transform_job_name_prefix", self.transform_job_name_prefix, 30
        )

    @property
    def instance_variant(self) -> bool:
        return self.variant_kind is VariantKind.INSTANCE

    @property
    def isolated(self) -> bool:
        return self.instance_variant and self.network_isolation


class ServingEndpoint(Construct):
    """Model + EndpointConfig + Endpoint (no physical names) and a batch transform definition.

    A new model (package ARN, artifact URL, image or code) replaces the Model and the
    EndpointConfig, so CloudFormation updates the Endpoint through the blue/green deployment
    config, rolling back automatically if the 5xx or latency alarm fires.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: EndpointProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        key = props.encryption_key
        state_machines.allow_logs_to_use_key(key)
        topic_key = props.notification_key or key
        notifications.allow_publishing_to_encrypted_topics(topic_key)
        self.image = xgboost_image_uri(self, "inference")
        self.topic = notifications.notification_topic(self, "AlarmTopic", topic_key)

        self.code: SourceAsset | None = None
        if not props.isolated:
            self.code = SourceAsset(
                self, "Code", props=SourceAssetProps(source_dir=Path(props.source_dir))
            )
        self.model = self._model()
        self.endpoint_config = self._endpoint_config()
        self.alarms: list[cloudwatch.Alarm] = []
        self.endpoint = self._endpoint()
        if props.instance_variant:
            self._autoscaling()
        self.dashboard = self._dashboard()
        self._grant_model_role()
        self.transform_state_machine = self._batch_transform()

    # --------------------------------------------------------------------------------- model

    def _model(self) -> sagemaker.CfnModel:
        p = self.props
        environment = {
            "SAGEMAKER_PROGRAM": p.entry_point,
            "SAGEMAKER_SUBMIT_DIRECTORY": self.code.s3_uri if self.code else MODEL_CODE_DIR,
            "SAGEMAKER_REGION": Aws.REGION,
            "SAGEMAKER_CONTAINER_LOG_LEVEL": str(p.container_log_level),
            # The toolkit pip-installs SAGEMAKER_PROGRAM's directory before serving; our VPCs
            # have no package index.
            **TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
        }
        if p.model_package_arn is not None:
            container = sagemaker.CfnModel.ContainerDefinitionProperty(
                model_package_name=p.model_package_arn, environment=environment
            )
        else:
            container = sagemaker.CfnModel.ContainerDefinitionProperty(
                image=self.image, model_data_url=p.model_data_url, environment=environment
            )
        vpc_config = None
        if p.instance_variant:
            vpc_config = sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[sg.security_group_id for sg in p.security_groups],
                subnets=[subnet.subnet_id for subnet in p.subnets],
            )
        model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=p.model_role.role_arn,
            primary_container=container,
            vpc_config=vpc_config,
            enable_network_isolation=p.isolated,
        )
        return model

    def _endpoint_config(self) -> sagemaker.CfnEndpointConfig:
        p = self.props
        Cfg = sagemaker.CfnEndpointConfig
        kms_key_id = None
        data_capture = None
        if p.instance_variant:
            variant = Cfg.ProductionVariantProperty(
                variant_name=VARIANT_NAME,
                model_name=self.model.attr_model_name,
                initial_variant_weight=1,
                instance_type=p.instance_type,
                initial_instance_count=p.min_instance_count,
            )
            kms_key_id = p.encryption_key.key_arn
            if p.data_capture_sampling_percent > 0:
                data_capture = Cfg.DataCaptureConfigProperty(
                    enable_capture=True,
                    initial_sampling_percentage=p.data_capture_sampling_percent,
                    destination_s3_uri=(
                        f"s3://{p.artifacts_bucket.bucket_name}/{p.data_capture_prefix.rstrip('/')}"
                    ),
                    kms_key_id=p.encryption_key.key_arn,
                    capture_options=[
                        Cfg.CaptureOptionProperty(capture_mode="Input"),
                        Cfg.CaptureOptionProperty(capture_mode="Output"),
                    ],
                    capture_content_type_header=Cfg.CaptureContentTypeHeaderProperty(
                        csv_content_types=["text/csv"], json_content_types=["application/json"]
                    ),
                )
        else:
            variant = Cfg.ProductionVariantProperty(
                variant_name=VARIANT_NAME,
                model_name=self.model.attr_model_name,
                initial_variant_weight=1,
                serverless_config=Cfg.ServerlessConfigProperty(
                    memory_size_in_mb=p.serverless_memory_mib,
                    max_concurrency=p.serverless_max_concurrency,
                ),
            )
        config = Cfg(
            self,
            "EndpointConfig",
            production_variants=[variant],
            kms_key_id=kms_key_id,
            data_capture_config=data_capture,
        )
        if not p.instance_variant:
            _acknowledge_all(
                config,
                {
                    rule: (
                        "Serverless endpoint configs take no KmsKeyId: the CreateEndpointConfig "
                        "reference says KmsKeyId is not supported for serverless variants, "
                        "which have no ML storage volume to encrypt."
                    )
                    for rule in (
                        "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
                        "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
                    )
                },
            )
        return config

    # ------------------------------------------------------------------------------ endpoint

    def _alarm_name(self, metric: str) -> str:
        # A literal, deterministic name: the endpoint's rollback config names the alarms while
        # the alarms' dimensions name the endpoint; referencing both ways would be a cycle.
        return f"{Names.unique_resource_name(self, max_length=200)}-{metric}"

    def _endpoint(self) -> sagemaker.CfnEndpoint:
        p = self.props
        names = {
            "errors": self._alarm_name("Invocation5XXErrors"),
            "latency": self._alarm_name("ModelLatencyP99"),
        }
        Ep = sagemaker.CfnEndpoint
        canary = linear = wait = None
        if p.traffic_shifting is TrafficShifting.CANARY:
            canary = Ep.CapacitySizeProperty(type="CAPACITY_PERCENT", value=p.canary_size_percent)
            wait = p.traffic_wait_s
        elif p.traffic_shifting is TrafficShifting.LINEAR:
            linear = Ep.CapacitySizeProperty(type="CAPACITY_PERCENT", value=p.linear_step_percent)
            wait = p.traffic_wait_s
        endpoint = Ep(
            self,
            "Endpoint",
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
            deployment_config=Ep.DeploymentConfigProperty(
                blue_green_update_policy=Ep.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=Ep.TrafficRoutingConfigProperty(
                        type=p.traffic_shifting.value,
                        canary_size=canary,
                        linear_step_size=linear,
                        wait_interval_in_seconds=wait,
                    ),
                    termination_wait_in_seconds=p.termination_wait_s,
                    maximum_execution_timeout_in_seconds=p.max_deployment_s,
                ),
                auto_rollback_configuration=Ep.AutoRollbackConfigProperty(
                    alarms=[
                        Ep.AlarmProperty(alarm_name=names["errors"]),
                        Ep.AlarmProperty(alarm_name=names["latency"]),
                    ]
                ),
            ),
        )
        dimensions = {"EndpointName": endpoint.attr_endpoint_name, "VariantName": VARIANT_NAME}
        self.errors_metric = cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="Invocation5XXErrors",
            dimensions_map=dimensions,
            statistic="Sum",
            period=Duration.minutes(1),
        )
        self.latency_metric = cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name="ModelLatency",
            dimensions_map=dimensions,
            statistic="p99",
            period=Duration.minutes(1),
            unit=cloudwatch.Unit.MICROSECONDS,
        )
        for construct_id, name, metric, threshold, text in (
            (
                "Invocation5XXErrorsAlarm",
                names["errors"],
                self.errors_metric,
                p.invocation_5xx_errors_threshold,
                "model containers returned 5xx errors",
            ),
            (
                "ModelLatencyAlarm",
                names["latency"],
                self.latency_metric,
                p.model_latency_p99_threshold_ms * 1000,
                "p99 model latency (microseconds) is high",
            ),
        ):
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_name=name,
                alarm_description=f"Rolls back endpoint updates and pages: {text}.",
                metric=metric,
                threshold=threshold,
                evaluation_periods=p.alarm_evaluation_periods,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
            alarm.add_ok_action(cw_actions.SnsAction(self.topic))
            self.alarms.append(alarm)
        return endpoint

    def _autoscaling(self) -> None:
        p = self.props
        self.scalable_target = appscaling.ScalableTarget(
            self,
            "ScalableTarget",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=Fn.join(
                "", ["endpoint/", self.endpoint.attr_endpoint_name, f"/variant/{VARIANT_NAME}"]
            ),
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=p.min_instance_count,
            max_capacity=p.max_instance_count,
            # Application Auto Scaling acts through its service-linked role for SageMaker; naming
            # it avoids a second, CDK-made role.
            role=iam.Role.from_role_arn(
                self,
                "AutoScalingServiceLinkedRole",
                f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
                "sagemaker.application-autoscaling.amazonaws.com/"
                "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
                mutable=False,
            ),
        )
        self.scalable_target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=p.target_invocations_per_instance,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
            scale_in_cooldown=Duration.seconds(p.scale_in_cooldown_s),
            scale_out_cooldown=Duration.seconds(p.scale_out_cooldown_s),
        )

    def _dashboard(self) -> cloudwatch.Dashboard:
        dims = {"EndpointName": self.endpoint.attr_endpoint_name, "VariantName": VARIANT_NAME}

        def metric(name: str, statistic: str = "Sum", namespace: str = "AWS/SageMaker"):
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=dims,
                statistic=statistic,
                period=Duration.minutes(1),
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Invocations and errors",
                left=[
                    metric("Invocations"),
                    metric("Invocation4XXErrors"),
                    metric("Invocation5XXErrors"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Latency (microseconds)",
                left=[
                    metric("ModelLatency", "p50"),
                    metric("ModelLatency", "p99"),
                    metric("OverheadLatency", "p99"),
                ],
                width=12,
            ),
        )
        if self.props.instance_variant:
            dashboard.add_widgets(
                cloudwatch.GraphWidget(
                    title="Invocations per instance",
                    left=[metric("InvocationsPerInstance")],
                    width=12,
                ),
                cloudwatch.GraphWidget(
                    title="Instance utilization (%)",
                    left=[
                        metric(name, "Average", "/aws/sagemaker/Endpoints")
                        for name in ("CPUUtilization", "MemoryUtilization", "DiskUtilization")
                    ],
                    width=12,
                ),
            )
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Rollback alarms", alarms=self.alarms, width=24)
        )
        return dashboard

    # --------------------------------------------------------------------------------- access

    def _grant_model_role(self) -> None:
        p = self.props
        artifacts = p.artifacts_bucket
        statements = (
            []
            if not p.grant_role_access
            else [
                iam.PolicyStatement(
                    sid="ReadModelArtifacts",
                    actions=["s3:GetObject"],
                    resources=[artifacts.arn_for_objects(f"{p.model_artifacts_prefix}*")],
                ),
                iam.PolicyStatement(
                    sid="WriteCaptureAndBatchOutput",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[
                        artifacts.arn_for_objects(f"{p.data_capture_prefix}*"),
                        artifacts.arn_for_objects(f"{p.transform_output_prefix}*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="ReadBatchInput",
                    actions=["s3:GetObject"],
                    resources=[p.data_bucket.arn_for_objects(f"{p.transform_input_prefix}*")],
                ),
                iam.PolicyStatement(
                    sid="ListBuckets",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[artifacts.bucket_arn, p.data_bucket.bucket_arn],
                ),
                *job_access.data_key_statements(p.encryption_key),
            ]
        )
        if self.code is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadInferenceCode",
                    actions=["s3:GetObject"],
                    resources=[self.code.bucket.arn_for_objects(self.code.object_key)],
                )
            )
        if not statements:
            return
        self.model_role_policy = iam.ManagedPolicy(
            self,
            "ModelRoleAccess",
            description="S3 and KMS access of the serving model and its batch transform jobs",
            statements=statements,
            roles=[p.model_role],
        )
        nag.acknowledge_wildcard_resources(
            self.model_role_policy,
            {
                "ReadModelArtifacts": (
                    f"Training writes {p.model_artifacts_prefix}<job name>/output/model.tar.gz "
                    "with job names "
                    "generated per execution, and a new model package points at a new one; "
                    "read-only, under this prefix."
                ),
                "WriteCaptureAndBatchOutput": (
                    "SageMaker names data-capture objects by endpoint, variant and hour, and "
                    "batch outputs by job; write-only, under these two prefixes."
                ),
                "ReadBatchInput": (
                    "A transform job reads every object under its input prefix; read-only, "
                    "under the batch input prefix of the data bucket."
                ),
            },
        )
        # The model is created with the role, so CreateModel's access checks see the policy.
        self.model.node.add_dependency(self.model_role_policy)

    # -------------------------------------------------------------------------- batch transform

    def _batch_transform(self) -> sfn.StateMachine:
        p = self.props
        scope = Construct(self, "BatchTransform")
        artifacts = p.artifacts_bucket.bucket_name
        apply_defaults = sfn.Pass(
            scope,
            "ApplyDefaults",
            comment="Defaults from config; the execution input overrides any of these keys.",
            parameters={
                "input.$": "$",
                "defaults": {
                    "input_s3_uri": f"s3://{p.data_bucket.bucket_name}/{p.transform_input_prefix}",
                    "instance_type": p.transform_instance_type,
                    "instance_count": p.transform_instance_count,
                },
            },
        )
        resolve = sfn.Pass(
            scope,
            "ResolveInput",
            parameters={
                "job_name.$": naming.execution_job_name(p.transform_job_name_prefix),
                "request.$": "States.JsonMerge($.defaults, $.input, false)",
            },
        )
        output_prefix = p.transform_output_prefix
        transform = sfn.CustomState(
            scope,
            "Transform",
            state_json={
                "Type": "Task",
                "Comment": "CreateTransformJob and wait for it (.sync).",
                "Resource": f"arn:{Aws.PARTITION}:states:::sagemaker:createTransformJob.sync",
                "Parameters": {
                    "TransformJobName.$": "$.job_name",
                    "ModelName": self.model.attr_model_name,
                    "BatchStrategy": "MultiRecord",
                    "MaxPayloadInMB": p.transform_max_payload_mib,
                    "MaxConcurrentTransforms": p.transform_max_concurrent,
                    "TransformInput": {
                        "DataSource": {
                            "S3DataSource": {
                                "S3DataType": "S3Prefix",
                                "S3Uri.$": "$.request.input_s3_uri",
                            }
                        },
                        "ContentType": "text/csv",
                        "SplitType": "Line",
                        "CompressionType": "None",
                    },
                    "TransformOutput": {
                        "S3OutputPath.$": (
                            f"States.Format('s3://{artifacts}/{output_prefix}{{}}/', $.job_name)"
                        ),
                        "Accept": "text/csv",
                        "AssembleWith": "Line",
                        "KmsKeyId": p.encryption_key.key_arn,
                    },
                    "TransformResources": {
                        "InstanceType.$": "$.request.instance_type",
                        "InstanceCount.$": "$.request.instance_count",
                        "VolumeKmsKeyId": p.encryption_key.key_arn,
                    },
                    "Tags": [{"Key": "sagestack:execution", "Value.$": "$$.Execution.Name"}],
                },
                "ResultSelector": {
                    "transform_job_name.$": "$.TransformJobName",
                    "status.$": "$.TransformJobStatus",
                    "output_s3_uri.$": "$.TransformOutput.S3OutputPath",
                },
            },
        )
        transform.add_retry(
            errors=state_machines.SAGEMAKER_THROTTLING_ERRORS,
            interval=Duration.seconds(10),
            backoff_rate=2,
            max_attempts=5,
            jitter_strategy=sfn.JitterType.FULL,
        )
        state_machine = state_machines.observed_state_machine(
            scope,
            definition=apply_defaults.next(resolve).next(transform),
            key=p.encryption_key,
            topic=self.topic,
            timeout=Duration.hours(24),
            log_retention=p.log_retention,
            comment=(
                f"Batch transform (SplitType Line, MultiRecord) with XGBoost {XGBOOST_VERSION} "
                "and this construct's model."
            ),
        )
        prefix = f"{p.transform_job_name_prefix}-*"
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                ],
                resources=[naming.sagemaker_arn("transform-job", prefix)],
            )
        )
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    naming.sync_events_rule_arn(
                        "StepFunctionsGetEventsForSageMakerTransformJobsRule"
                    )
                ],
            )
        )
        state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[p.encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        _acknowledge_all(
            state_machine.role.node.find_child("DefaultPolicy"),
            {
                **{
                    f"{pack}-IAMNoInlinePolicy": (
                        "CDK's default policy of the execution role this construct creates for "
                        "the transform state machine alone; created, changed and deleted with "
                        "that role and shared with nothing."
                    )
                    for pack in ("NIST.800.53.R5", "HIPAA.Security")
                },
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                f"<AWS::AccountId>:transform-job/{prefix}]": (
                    f"Transform job names are generated per execution as {prefix}; the "
                    "statement is limited to this state machine's name prefix."
                ),
            },
        )
        return state_machine

    # ------------------------------------------------------------------------------- outputs

    @property
    def endpoint_name(self) -> str:
        return self.endpoint.attr_endpoint_name

    @property
    def model_name(self) -> str:
        return self.model.attr_model_name


def _acknowledge_all(scope: IConstruct, findings: dict[str, str]) -> None:
    for finding_id, reason in findings.items():
        nag.acknowledge(scope, finding_id, reason)
