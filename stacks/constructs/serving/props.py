"""Serving props: the model, its variant, blue/green, alarms and batch transform settings."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from sagestack.contract import patterns
from stacks.constructs import prop_checks

# Families with local NVMe storage, where SageMaker rejects a volume KMS key (m5d, c5d, r5d,
# g4dn, p3dn, p4d, …). Not exhaustive (g5/g6 also have NVMe): the API names the others.
_NVME_FAMILY_RE = re.compile(r"^[a-z]+[0-9]+[a-z]*d[n]?$")


class VariantKind(enum.Enum):
    INSTANCE = "instance"
    SERVERLESS = "serverless"


class TrafficShifting(enum.Enum):
    CANARY = "CANARY"
    LINEAR = "LINEAR"
    ALL_AT_ONCE = "ALL_AT_ONCE"


@dataclass(frozen=True, kw_only=True)
class ServingSettings:
    """What an environment's ``serving`` section in cdk.json sets, under the same names.

    This class is the one home of these settings' defaults and checks: stacks/config.py builds it
    from cdk.json (a key left out takes the default below, a failed check names the key), and
    EndpointProps extends it, so the construct used on its own behaves the same.
    """

    model_package_arn: str | None = None
    """The registered model to serve (ContainerDefinition.ModelPackageName); set this or
    ``model_data_url``."""
    model_data_url: str | None = None
    """An s3://…/model.tar.gz to serve with the pinned image; set this or ``model_package_arn``."""
    variant: VariantKind = VariantKind.INSTANCE
    """INSTANCE (VPC, KMS volume, data capture, autoscaling) or SERVERLESS; default INSTANCE."""
    instance_type: str = "ml.m5.large"
    """Instance variant type; default ml.m5.large."""
    instance_count: int = 1
    """Autoscaling minimum and initial instance count; default 1."""
    max_instance_count: int | None = None
    """Autoscaling maximum; default ``max(instance_count, 2)``. Always an int after
    construction."""
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
    traffic_shifting: TrafficShifting = TrafficShifting.CANARY
    """Blue/green traffic shifting mode; default CANARY."""

    def __post_init__(self) -> None:
        max_count = self.max_instance_count
        if max_count is None:
            max_count = max(self.instance_count, 2)
            object.__setattr__(self, "max_instance_count", max_count)  # frozen: resolved here
        check = prop_checks.check
        check(
            self.model_package_arn is None or self.model_data_url is None,
            "model_package_arn",
            self.model_package_arn,
            "unset when model_data_url is set (set one of them, not both)",
        )
        if self.model_package_arn is not None and not Token.is_unresolved(self.model_package_arn):
            check(
                patterns.is_model_package_arn(self.model_package_arn),
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
        match = patterns.ML_INSTANCE_TYPE.match(self.instance_type)
        check(
            match is not None,
            "instance_type",
            self.instance_type,
            "an ml.* instance type such as 'ml.m5.large'",
        )
        assert match is not None
        if self.variant is VariantKind.INSTANCE:
            check(
                not _NVME_FAMILY_RE.match(match["family"]),
                "instance_type",
                self.instance_type,
                "a type without local NVMe storage (SageMaker refuses a KMS volume key there)",
            )
        check(
            1 <= self.instance_count <= max_count,
            "instance_count",
            self.instance_count,
            f"between 1 and max_instance_count ({max_count})",
        )
        check(
            0 <= self.data_capture_sampling_percent <= 100,
            "data_capture_sampling_percent",
            self.data_capture_sampling_percent,
            "between 0 and 100",
        )
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

    @property
    def has_model(self) -> bool:
        """Whether a model is named; without one the app declares no Serving stack."""
        return self.model_package_arn is not None or self.model_data_url is not None


@dataclass(frozen=True, kw_only=True)
class EndpointProps(ServingSettings):
    """A real-time endpoint for one model, and the batch transform definition for it."""

    artifacts_bucket: s3.IBucket
    data_bucket: s3.IBucket
    encryption_key: kms.IKey
    model_role: iam.IRole
    subnets: Sequence[ec2.ISubnet]
    security_groups: Sequence[ec2.ISecurityGroup]
    source_dir: Path
    entry_point: str = "inference.py"
    """SAGEMAKER_PROGRAM, inside ``source_dir``; default inference.py."""
    target_invocations_per_instance: int = 100
    """Target-tracking value of SageMakerVariantInvocationsPerInstance (per minute); default 100."""
    scale_in_cooldown_s: int = 300
    """Seconds between scale-in activities; default 300."""
    scale_out_cooldown_s: int = 60
    """Seconds between scale-out activities; default 60."""
    data_capture_prefix: str = "data-capture/"
    """Capture destination prefix in the artifacts bucket."""
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
    transform_state_machine_name: str | None = None
    """Physical name of the batch transform state machine; default: generated."""
    environment_tag: str | None = None
    """``sagestack:environment`` tag on the transform jobs it starts, so the workbench roles may
    stop them (their changes are scoped by that tag); default: no such tag."""
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
        super().__post_init__()
        check = prop_checks.check
        # ServingSettings rejects both; an endpoint also needs one.
        check(
            self.has_model,
            "model_package_arn/model_data_url",
            (self.model_package_arn, self.model_data_url),
            "exactly one of a model package ARN or a model artifact S3 URI",
        )
        prop_checks.check_directory("source_dir", self.source_dir)
        check(
            (Path(self.source_dir) / self.entry_point).is_file(),
            "entry_point",
            self.entry_point,
            f"a file inside {self.source_dir}",
        )
        if self.variant is VariantKind.INSTANCE:
            prop_checks.check_vpc_placement(self.subnets, self.security_groups)
            check(
                self.target_invocations_per_instance > 0,
                "target_invocations_per_instance",
                self.target_invocations_per_instance,
                "positive",
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
            patterns.is_ml_instance_type(self.transform_instance_type),
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
        return self.variant is VariantKind.INSTANCE

    @property
    def isolated(self) -> bool:
        return self.instance_variant and self.network_isolation
