"""The training job definition: a Step Functions state machine that trains, gates and registers."""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from sagestack.contract.launch import (
    CODE_CHANNEL,
    CODE_CHANNEL_DIR,
    TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
    training_entrypoint,
)
from stacks.constructs import _common as common
from stacks.constructs.image_uri import XGBOOST_VERSION, xgboost_image_uri
from stacks.constructs.source_asset import SourceAsset, SourceAssetProps
from training.sm_constants import SERVING_CODE_DIR

CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
_METRIC_NAME_RE = re.compile(r"^[a-z0-9@_.-]+$", re.IGNORECASE)
_INSTANCE_TYPE_RE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")


class TrainingMode(enum.Enum):
    """How the XGBoost container runs: our training/ code, or its own algorithm."""

    SCRIPT = "script"
    ALGORITHM = "algorithm"


class MetricDirection(enum.Enum):
    MAXIMIZE = "Maximize"
    MINIMIZE = "Minimize"


class S3Distribution(enum.Enum):
    FULLY_REPLICATED = "FullyReplicated"
    SHARDED_BY_S3_KEY = "ShardedByS3Key"


class ApprovalStatus(enum.Enum):
    PENDING_MANUAL_APPROVAL = "PendingManualApproval"
    APPROVED = "Approved"


@dataclass(frozen=True, kw_only=True)
class MetricDefinition:
    """A SageMaker metric: its name and the regex applied to the job's log."""

    name: str
    regex: str


def default_metric_definitions(eval_metrics: Sequence[str]) -> list[MetricDefinition]:
    """``train:<m>`` and ``validation:<m>`` for XGBoost's ``[i]\\ttrain-m:v\\tvalidation-m:v``.

    Same names as the built-in algorithm's metrics, so the gate reads the same key in both
    modes. The value class stops at the tab (or CloudWatch's ``#011``) before the next metric.
    """
    definitions = []
    for metric in eval_metrics:
        escaped = re.escape(metric)
        for channel in ("train", "validation"):
            definitions.append(
                MetricDefinition(
                    name=f"{channel}:{metric}",
                    regex=rf".*\[[0-9]+\].*{channel}-{escaped}:([-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)",
                )
            )
    return definitions


@dataclass(frozen=True, kw_only=True)
class HyperparameterRange:
    """One tuned hyperparameter."""

    name: str
    min_value: float
    max_value: float
    integer: bool = False
    """True for integer ranges (num_round, max_depth); default: a continuous range."""
    scaling: str = "Auto"
    """Auto | Linear | Logarithmic | ReverseLogarithmic; default Auto."""


@dataclass(frozen=True, kw_only=True)
class TuningProps:
    """Run a hyperparameter tuning job instead of a single training job."""

    ranges: Sequence[HyperparameterRange]
    max_training_jobs: int = 10
    """Total training jobs the tuner may start; default 10."""
    max_parallel_training_jobs: int = 2
    """Training jobs running at once; default 2."""
    strategy: str = "Bayesian"
    """Bayesian | Random | Hyperband | Grid; default Bayesian."""
    job_name_prefix: str = "sagestack-tune"
    """Tuning job names are ``<prefix>-<8 hex>`` (32 characters at most); default sagestack-tune."""


@dataclass(frozen=True, kw_only=True)
class TrainingJobProps:
    """Everything the training state machine does not take from its execution input."""

    data_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket
    encryption_key: kms.IKey
    training_role: iam.IRole
    subnets: Sequence[ec2.ISubnet]
    security_groups: Sequence[ec2.ISecurityGroup]
    model_package_group_name: str
    quality_gate_threshold: float
    create_model_package_group: bool = True
    """False when a stateful stack owns the group (the app's Data stack): the registry must
    outlive this stateless construct, and a retained group with a fixed name here would collide
    with the next deployment of it."""
    mode: TrainingMode = TrainingMode.SCRIPT
    """SCRIPT runs ``entry_point`` from ``source_dir``; ALGORITHM runs the built-in XGBoost."""
    source_dir: Path | None = None
    """The script-mode code (training/); required in SCRIPT mode, unused in ALGORITHM mode."""
    entry_point: str = "train.py"
    """Script-mode entry point inside ``source_dir``; default train.py."""
    serving_code_dir: Path | None = None
    """Script mode: inference code shipped next to the entry point, as ``inference/``. train.py
    copies it into the model's ``code/``, so the registered model.tar.gz serves on a
    network-isolated endpoint (SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)."""
    hyperparameters: Mapping[str, str] = field(default_factory=dict)
    """Default hyperparameters (strings, as the API requires); execution input merges over them."""
    eval_metric: str = "auc"
    """XGBoost eval metric gated on (``validation:<eval_metric>``); default auc."""
    metric_definitions: Sequence[MetricDefinition] | None = None
    """Script-mode metric regexes; default ``default_metric_definitions([eval_metric])``."""
    quality_gate_direction: MetricDirection = MetricDirection.MAXIMIZE
    """MAXIMIZE: the metric must be >= the threshold; MINIMIZE: <= it. Default MAXIMIZE."""
    approval_status: ApprovalStatus = ApprovalStatus.PENDING_MANUAL_APPROVAL
    """Status of registered model packages; default PendingManualApproval."""
    instance_type: str = "ml.m5.xlarge"
    """Default training instance type; execution input may override it."""
    instance_count: int = 1
    """Default instance count (above 1 runs distributed XGBoost); input may override it."""
    volume_size_gib: int = 30
    """ML storage volume per instance (KMS-encrypted); default 30 GiB."""
    max_runtime_s: int = 3600
    """MaxRuntimeInSeconds; default one hour."""
    use_spot_instances: bool = True
    """Managed spot training with checkpoints; default True."""
    max_wait_s: int = 7200
    """MaxWaitTimeInSeconds (spot only, at least ``max_runtime_s``); default two hours."""
    train_prefix: str = "train/"
    """Default train channel prefix in the data bucket."""
    validation_prefix: str = "validation/"
    """Default validation channel prefix in the data bucket."""
    train_distribution: S3Distribution = S3Distribution.FULLY_REPLICATED
    """Train channel distribution; SHARDED_BY_S3KEY splits files across instances."""
    validation_distribution: S3Distribution = S3Distribution.FULLY_REPLICATED
    """Validation channel distribution; default FullyReplicated."""
    content_type: str = "text/csv"
    """ContentType of both data channels; default text/csv (label first, no header)."""
    network_isolation: bool = True
    """EnableNetworkIsolation; default True. Script-mode code always comes as a ``code`` channel."""
    output_prefix: str = "models/"
    """Model artifacts go to ``s3://<artifacts>/<output_prefix><job>/output/model.tar.gz``."""
    checkpoint_prefix: str = "checkpoints/"
    """Checkpoints go to ``s3://<artifacts>/<checkpoint_prefix><job>/``."""
    job_name_prefix: str = "sagestack-train"
    """Training job names are ``<prefix>-<32 hex>``; at most 30 characters."""
    inference_instance_types: Sequence[str] = ("ml.m5.large",)
    """Real-time instance types recorded in the model package."""
    transform_instance_types: Sequence[str] = ("ml.m5.large",)
    """Batch transform instance types recorded in the model package."""
    schedule_expression: str | None = None
    """An EventBridge ``rate(...)``/``cron(...)`` to retrain on; default: none."""
    trigger_on_new_training_data: bool = False
    """Start a run for new objects under ``train_prefix`` (the data bucket must send events to
    EventBridge); default False."""
    new_training_data_key_suffix: str = ""
    """With the trigger, only keys ending with this start a run (e.g. ``_SUCCESS``, a marker the
    container skips as data); default: every new object."""
    tuning: TuningProps | None = None
    """Run a hyperparameter tuning job instead of one training job; default: no tuning."""
    container_log_level: int = 20
    """sagemaker_container_log_level (script mode); default 20 (INFO)."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    """Retention of the state machine's execution log; default one year."""
    grant_role_access: bool = True
    """Grant the training role the data/artifacts/key access this job needs (False when the
    role already has it). Read access to the code asset is granted either way."""
    notification_key: kms.IKey | None = None
    """Key of the failure topic; default ``encryption_key``, whose policy must then let
    events.amazonaws.com use it (added automatically when the key is not imported)."""

    def __post_init__(self) -> None:
        check = common.check
        check(
            self.mode is not TrainingMode.SCRIPT or self.source_dir is not None,
            "source_dir",
            self.source_dir,
            "a directory when mode is SCRIPT",
        )
        if self.source_dir is not None:
            common.check_directory("source_dir", self.source_dir)
            if self.mode is TrainingMode.SCRIPT:
                check(
                    (Path(self.source_dir) / self.entry_point).is_file(),
                    "entry_point",
                    self.entry_point,
                    f"a file inside {self.source_dir}",
                )
        if self.serving_code_dir is not None:
            common.check_directory("serving_code_dir", self.serving_code_dir)
        common.check_vpc_placement(self.subnets, self.security_groups)
        common.check_name_prefix("model_package_group_name", self.model_package_group_name, 63)
        common.check_name_prefix("job_name_prefix", self.job_name_prefix, 30)
        check(
            math.isfinite(self.quality_gate_threshold),
            "quality_gate_threshold",
            self.quality_gate_threshold,
            "a finite number",
        )
        check(
            bool(_METRIC_NAME_RE.match(self.eval_metric)),
            "eval_metric",
            self.eval_metric,
            "an XGBoost eval metric name such as 'auc' or 'rmse'",
        )
        for key, value in self.hyperparameters.items():
            check(
                isinstance(value, str),
                f"hyperparameters[{key!r}]",
                value,
                "a string (CreateTrainingJob takes string values only)",
            )
            check(
                not key.startswith("sagemaker_"),
                "hyperparameters",
                key,
                "free of sagemaker_* keys (the construct sets them)",
            )
        check(
            bool(_INSTANCE_TYPE_RE.match(self.instance_type)),
            "instance_type",
            self.instance_type,
            "an ml.* instance type such as 'ml.m5.xlarge'",
        )
        check(
            1 <= self.instance_count <= 100,
            "instance_count",
            self.instance_count,
            "between 1 and 100",
        )
        check(
            1 <= self.volume_size_gib <= 16384,
            "volume_size_gib",
            self.volume_size_gib,
            "between 1 and 16384",
        )
        check(
            1 <= self.max_runtime_s <= 28 * 24 * 3600,
            "max_runtime_s",
            self.max_runtime_s,
            "between 1 and 2419200 seconds",
        )
        if self.use_spot_instances:
            check(
                self.max_runtime_s <= self.max_wait_s <= 28 * 24 * 3600,
                "max_wait_s",
                self.max_wait_s,
                f"between max_runtime_s ({self.max_runtime_s}) and 2419200",
            )
        for name in ("train_prefix", "validation_prefix", "output_prefix", "checkpoint_prefix"):
            common.check_s3_prefix(name, getattr(self, name))
        check(
            self.metric_definitions is None or 0 < len(self.metric_definitions) <= 40,
            "metric_definitions",
            self.metric_definitions,
            "1 to 40 definitions",
        )
        check(
            self.gate_metric_name in {m.name for m in self.resolved_metric_definitions}
            or self.mode is TrainingMode.ALGORITHM,
            "metric_definitions",
            [m.name for m in self.resolved_metric_definitions],
            f"a list that defines the gated metric {self.gate_metric_name!r}",
        )
        check(
            self.container_log_level in (10, 20, 30, 40, 50),
            "container_log_level",
            self.container_log_level,
            "a logging level (10, 20, 30, 40 or 50)",
        )
        check(
            not self.new_training_data_key_suffix or self.trigger_on_new_training_data,
            "new_training_data_key_suffix",
            self.new_training_data_key_suffix,
            "empty unless trigger_on_new_training_data is True",
        )
        if self.tuning is not None:
            tuning = self.tuning
            common.check_name_prefix("tuning.job_name_prefix", tuning.job_name_prefix, 23)
            check(len(tuning.ranges) > 0, "tuning.ranges", tuning.ranges, "at least one range")
            check(
                1 <= tuning.max_parallel_training_jobs <= tuning.max_training_jobs,
                "tuning.max_parallel_training_jobs",
                tuning.max_parallel_training_jobs,
                f"between 1 and max_training_jobs ({tuning.max_training_jobs})",
            )
            check(
                tuning.strategy in ("Bayesian", "Random", "Hyperband", "Grid"),
                "tuning.strategy",
                tuning.strategy,
                "Bayesian, Random, Hyperband or Grid",
            )
            for item in tuning.ranges:
                check(
                    item.min_value < item.max_value,
                    f"tuning.ranges[{item.name!r}]",
                    (item.min_value, item.max_value),
                    "a range with min_value < max_value",
                )
                check(
                    item.name not in self.hyperparameters,
                    f"tuning.ranges[{item.name!r}]",
                    item.name,
                    "absent from the static hyperparameters",
                )
                check(
                    item.scaling in ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic"),
                    f"tuning.ranges[{item.name!r}].scaling",
                    item.scaling,
                    "Auto, Linear, Logarithmic or ReverseLogarithmic",
                )

    @property
    def gate_metric_name(self) -> str:
        return f"validation:{self.eval_metric}"

    @property
    def resolved_metric_definitions(self) -> list[MetricDefinition]:
        if self.metric_definitions is not None:
            return list(self.metric_definitions)
        return default_metric_definitions([self.eval_metric])


class TrainingJob(Construct):
    """A state machine that IS the training job definition.

    Execution input (every key optional)::

        {"train_s3_uri": "s3://…/train/", "validation_s3_uri": "s3://…/validation/",
         "hyperparameters": {"num_round": "200"}, "instance_type": "ml.m5.2xlarge",
         "instance_count": 2}

    Steps: CreateTrainingJob.sync (or CreateHyperParameterTuningJob.sync), a quality gate on
    the final ``validation:<metric>``, and CreateModelPackage in the group this construct
    declares. The output is ``{"model_package_arn": …}``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: TrainingJobProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        key = props.encryption_key
        common.allow_logs_to_use_key(key)
        topic_key = props.notification_key or key
        common.allow_publishing_to_encrypted_topics(topic_key)

        self.training_image = xgboost_image_uri(self, "training")
        self.inference_image = xgboost_image_uri(self, "inference")
        self.code: SourceAsset | None = None
        if props.mode is TrainingMode.SCRIPT:
            assert props.source_dir is not None
            serving = (
                {SERVING_CODE_DIR: Path(props.serving_code_dir)} if props.serving_code_dir else {}
            )
            self.code = SourceAsset(
                self,
                "Code",
                props=SourceAssetProps(source_dir=Path(props.source_dir), extra_dirs=serving),
            )

        self.model_package_group: sagemaker.CfnModelPackageGroup | None = None
        if props.create_model_package_group:
            self.model_package_group = model_package_group(
                self,
                props.model_package_group_name,
                f"XGBoost {XGBOOST_VERSION} models that passed the {props.gate_metric_name} "
                "quality gate",
            )
        self.topic = common.notification_topic(self, "FailureTopic", topic_key)

        self._output_s3_uri = (
            f"s3://{props.artifacts_bucket.bucket_name}/{props.output_prefix.rstrip('/')}"
        )
        chain = self._definition()
        self.state_machine = common.observed_state_machine(
            self,
            definition=chain,
            key=key,
            topic=self.topic,
            timeout=Duration.seconds(self._timeout_s()),
            log_retention=props.log_retention,
            comment=(
                f"Trains XGBoost {XGBOOST_VERSION} ({props.mode.value} mode), gates on "
                f"{props.gate_metric_name} and registers in {props.model_package_group_name}."
            ),
        )
        if self.model_package_group is not None:
            self.state_machine.node.add_dependency(self.model_package_group)
        self._grant_state_machine()
        self._grant_training_role()
        self._triggers()
        self._acknowledge_inline_policies()

    # ----------------------------------------------------------------------------- definition

    def _overridable_defaults(self) -> dict[str, Any]:
        p = self.props
        bucket = p.data_bucket.bucket_name
        return {
            "train_s3_uri": f"s3://{bucket}/{p.train_prefix}",
            "validation_s3_uri": f"s3://{bucket}/{p.validation_prefix}",
            "hyperparameters": dict(sorted(p.hyperparameters.items())),
            "instance_type": p.instance_type,
            "instance_count": p.instance_count,
        }

    def _fixed_hyperparameters(self) -> dict[str, str]:
        """What the image's toolkit needs to find the script. Only a tuning job goes through the
        toolkit; a training job starts the script itself (see ``_algorithm``)."""
        p = self.props
        if self.code is None or p.tuning is None:
            return {}
        return {
            "sagemaker_program": p.entry_point,
            "sagemaker_submit_directory": f"{CODE_CHANNEL_DIR}/{self.code.file_name}",
            "sagemaker_region": Aws.REGION,
            "sagemaker_container_log_level": str(p.container_log_level),
        }

    def _channels(self) -> list[dict[str, Any]]:
        p = self.props

        def channel(name: str, uri_path: str, distribution: S3Distribution) -> dict[str, Any]:
            return {
                "ChannelName": name,
                "ContentType": p.content_type,
                "InputMode": "File",
                "CompressionType": "None",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri.$": uri_path,
                        "S3DataDistributionType": distribution.value,
                    }
                },
            }

        channels = [
            channel("train", "$.request.train_s3_uri", p.train_distribution),
            channel("validation", "$.request.validation_s3_uri", p.validation_distribution),
        ]
        if self.code is not None:
            channels.append(
                {
                    "ChannelName": CODE_CHANNEL,
                    "InputMode": "File",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": self.code.s3_uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
            )
        return channels

    def _job_definition(self, checkpoint_path: str) -> dict[str, Any]:
        """The parts CreateTrainingJob and a tuning job's TrainingJobDefinition share."""
        p = self.props
        key_arn = p.encryption_key.key_arn
        algorithm: dict[str, Any] = {
            "TrainingImage": self.training_image,
            "TrainingInputMode": "File",
        }
        if self.code is not None and p.tuning is None:
            # No toolkit, so no pip install (no index in our VPCs) and the script's own failure
            # file becomes FailureReason. A tuning definition has no entrypoint field.
            algorithm["ContainerEntrypoint"] = training_entrypoint(
                self.code.file_name, p.entry_point
            )
        if p.mode is TrainingMode.SCRIPT:
            # SageMaker rejects metric definitions for its own algorithms; the built-in image
            # reports train:/validation:<metric> by itself.
            algorithm["MetricDefinitions"] = [
                {"Name": m.name, "Regex": m.regex} for m in p.resolved_metric_definitions
            ]
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": p.max_runtime_s}
        if p.use_spot_instances:
            stopping["MaxWaitTimeInSeconds"] = p.max_wait_s
        return {
            "AlgorithmSpecification": algorithm,
            "RoleArn": p.training_role.role_arn,
            "InputDataConfig": self._channels(),
            "OutputDataConfig": {"S3OutputPath": self._output_s3_uri, "KmsKeyId": key_arn},
            "ResourceConfig": {
                "InstanceType.$": "$.request.instance_type",
                "InstanceCount.$": "$.request.instance_count",
                "VolumeSizeInGB": p.volume_size_gib,
                "VolumeKmsKeyId": key_arn,
            },
            "StoppingCondition": stopping,
            "EnableManagedSpotTraining": p.use_spot_instances,
            "CheckpointConfig": {"S3Uri.$": checkpoint_path, "LocalPath": CHECKPOINT_LOCAL_PATH},
            "VpcConfig": {
                "SecurityGroupIds": [sg.security_group_id for sg in p.security_groups],
                "Subnets": [subnet.subnet_id for subnet in p.subnets],
            },
            "EnableNetworkIsolation": p.network_isolation,
            "EnableInterContainerTrafficEncryption": True,
            **self._toolkit_environment(),
        }

    def _toolkit_environment(self) -> dict[str, Any]:
        """A tuning job's script goes through the toolkit's install step, which must work
        without a package index."""
        if self.code is None or self.props.tuning is None:
            return {}
        return {"Environment": dict(TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT)}

    def _definition(self) -> sfn.IChainable:
        p = self.props
        artifacts = p.artifacts_bucket.bucket_name
        tuning = p.tuning is not None
        name_expr = (
            common.short_execution_job_name(p.tuning.job_name_prefix)
            if p.tuning is not None
            else common.execution_job_name(p.job_name_prefix)
        )

        apply_defaults = sfn.Pass(
            self,
            "ApplyDefaults",
            comment="Defaults from config; the execution input overrides any of these keys.",
            parameters={
                "input.$": "$",
                "defaults": self._overridable_defaults(),
                "fixed_hyperparameters": self._fixed_hyperparameters(),
            },
        )
        resolve_input = sfn.Pass(
            self,
            "ResolveInput",
            parameters={
                "job_name.$": name_expr,
                # CreateModelPackage's idempotency token (36 characters at most), fixed here so
                # a retried registration reuses it.
                "client_token.$": "States.UUID()",
                "request.$": "States.JsonMerge($.defaults, $.input, false)",
                "default_hyperparameters.$": "$.defaults.hyperparameters",
                "fixed_hyperparameters.$": "$.fixed_hyperparameters",
            },
        )
        resolve_hyperparameters = sfn.Pass(
            self,
            "ResolveHyperparameters",
            comment="Input hyperparameters merge over the defaults; sagemaker_* always win.",
            parameters={
                "job_name.$": "$.job_name",
                "client_token.$": "$.client_token",
                "request.$": "$.request",
                "checkpoint_s3_uri.$": (
                    f"States.Format('s3://{artifacts}/{p.checkpoint_prefix}{{}}/', $.job_name)"
                ),
                "hyperparameters.$": (
                    "States.JsonMerge(States.JsonMerge($.default_hyperparameters, "
                    "$.request.hyperparameters, false), $.fixed_hyperparameters, false)"
                ),
            },
        )

        job = self._tuning_state() if tuning else self._training_state()
        job.add_retry(
            errors=common.SAGEMAKER_THROTTLING_ERRORS,
            interval=Duration.seconds(10),
            backoff_rate=2,
            max_attempts=5,
            jitter_strategy=sfn.JitterType.FULL,
        )

        metric = p.gate_metric_name
        metric_missing = sfn.Fail(
            self,
            "MetricMissing",
            error="MetricMissing",
            cause=(
                f"The job reported no final {metric} value, so the quality gate cannot pass. "
                "Check that the training log prints validation metrics in XGBoost's format "
                "and that the metric definitions match it."
            ),
        )
        if tuning:
            has_result = sfn.Condition.is_present(
                "$.tuning.BestTrainingJob.FinalHyperParameterTuningJobObjectiveMetric.Value"
            )
            select = sfn.Pass(
                self,
                "SelectBestTrainingJob",
                parameters={
                    "values.$": (
                        "States.Array($.tuning.BestTrainingJob"
                        ".FinalHyperParameterTuningJobObjectiveMetric.Value)"
                    ),
                    "training_job_name.$": "$.tuning.BestTrainingJob.TrainingJobName",
                    "model_data_url.$": (
                        f"States.Format('{self._output_s3_uri}/{{}}/output/model.tar.gz', "
                        "$.tuning.BestTrainingJob.TrainingJobName)"
                    ),
                },
                result_path="$.result",
            )
        else:
            has_result = sfn.Condition.is_present("$.training.FinalMetricDataList")
            select = sfn.Pass(
                self,
                "SelectValidationMetric",
                parameters={
                    "values.$": (
                        f"$.training.FinalMetricDataList[?(@.MetricName == '{metric}')].Value"
                    ),
                    "training_job_name.$": "$.training.TrainingJobName",
                    "model_data_url.$": "$.training.ModelArtifacts.S3ModelArtifacts",
                },
                result_path="$.result",
            )
        count = sfn.Pass(
            self,
            "CountMetricValues",
            parameters={"count.$": "States.ArrayLength($.result.values)"},
            result_path="$.result_count",
        )
        take = sfn.Pass(
            self,
            "TakeMetricValue",
            parameters={"value.$": "States.ArrayGetItem($.result.values, 0)"},
            result_path="$.metric",
        )
        threshold = p.quality_gate_threshold
        if p.quality_gate_direction is MetricDirection.MAXIMIZE:
            passes = sfn.Condition.number_greater_than_equals("$.metric.value", threshold)
            relation = "below"
        else:
            passes = sfn.Condition.number_less_than_equals("$.metric.value", threshold)
            relation = "above"
        gate_failed = sfn.Fail(
            self,
            "QualityGateFailed",
            error="QualityGateFailed",
            cause_path=(
                f"States.Format('{metric} = {{}} is {relation} the quality gate threshold "
                f"{threshold:g} ({p.quality_gate_direction.value.lower()}); the model of training "
                "job {} was not registered.', $.metric.value, $.result.training_job_name)"
            ),
        )
        register = self._register_state()
        done = sfn.Succeed(self, "Registered", output_path="$.registration")

        gate = (
            sfn.Choice(self, "QualityGate", comment=f"{metric} against {threshold:g}")
            .when(passes, register.next(done))
            .otherwise(gate_failed)
        )
        reported = (
            sfn.Choice(self, "MetricReported")
            .when(sfn.Condition.number_greater_than("$.result_count.count", 0), take.next(gate))
            .otherwise(metric_missing)
        )
        has_metrics = (
            sfn.Choice(self, "HasFinalMetrics")
            .when(has_result, select.next(count).next(reported))
            .otherwise(metric_missing)
        )
        return (
            apply_defaults.next(resolve_input)
            .next(resolve_hyperparameters)
            .next(job)
            .next(has_metrics)
        )

    def _training_state(self) -> sfn.CustomState:
        parameters = {
            "TrainingJobName.$": "$.job_name",
            "HyperParameters.$": "$.hyperparameters",
            **self._job_definition("$.checkpoint_s3_uri"),
            "Tags": [{"Key": "sagestack:execution", "Value.$": "$$.Execution.Name"}],
        }
        return sfn.CustomState(
            self,
            "TrainModel",
            state_json={
                "Type": "Task",
                "Comment": "CreateTrainingJob and wait for it (.sync).",
                "Resource": (f"arn:{Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync"),
                "Parameters": parameters,
                "ResultPath": "$.training",
            },
        )

    def _tuning_state(self) -> sfn.CustomState:
        p = self.props
        assert p.tuning is not None
        tuning = p.tuning
        integer_ranges = [
            {
                "Name": r.name,
                "MinValue": str(int(r.min_value)),
                "MaxValue": str(int(r.max_value)),
                "ScalingType": r.scaling,
            }
            for r in tuning.ranges
            if r.integer
        ]
        continuous_ranges = [
            {
                "Name": r.name,
                "MinValue": f"{r.min_value:g}",
                "MaxValue": f"{r.max_value:g}",
                "ScalingType": r.scaling,
            }
            for r in tuning.ranges
            if not r.integer
        ]
        definition = {
            "StaticHyperParameters.$": "$.hyperparameters",
            **self._job_definition("$.checkpoint_s3_uri"),
        }
        parameters = {
            "HyperParameterTuningJobName.$": "$.job_name",
            "HyperParameterTuningJobConfig": {
                "Strategy": tuning.strategy,
                "HyperParameterTuningJobObjective": {
                    "Type": p.quality_gate_direction.value,
                    "MetricName": p.gate_metric_name,
                },
                "ResourceLimits": {
                    "MaxNumberOfTrainingJobs": tuning.max_training_jobs,
                    "MaxParallelTrainingJobs": tuning.max_parallel_training_jobs,
                },
                "ParameterRanges": {
                    "IntegerParameterRanges": integer_ranges,
                    "ContinuousParameterRanges": continuous_ranges,
                    "CategoricalParameterRanges": [],
                },
                "TrainingJobEarlyStoppingType": "Off" if tuning.strategy == "Hyperband" else "Auto",
            },
            "TrainingJobDefinition": definition,
            "Tags": [{"Key": "sagestack:execution", "Value.$": "$$.Execution.Name"}],
        }
        return sfn.CustomState(
            self,
            "TuneModel",
            state_json={
                "Type": "Task",
                "Comment": "CreateHyperParameterTuningJob and wait for it (.sync).",
                "Resource": (
                    f"arn:{Aws.PARTITION}:states:::sagemaker:createHyperParameterTuningJob.sync"
                ),
                "Parameters": parameters,
                "ResultPath": "$.tuning",
            },
        )

    def _register_state(self) -> tasks.CallAwsService:
        p = self.props
        group = p.model_package_group_name
        task = tasks.CallAwsService(
            self,
            "RegisterModel",
            comment="CreateModelPackage in the model package group.",
            service="sagemaker",
            action="createModelPackage",
            iam_action="sagemaker:CreateModelPackage",
            iam_resources=[
                common.sagemaker_arn("model-package-group", group),
                common.sagemaker_arn("model-package", f"{group}/*"),
            ],
            parameters={
                "ModelPackageGroupName": group,
                "ModelApprovalStatus": p.approval_status.value,
                "ClientToken.$": "$.client_token",
                "ModelPackageDescription.$": (
                    f"States.Format('Training job {{}}: {p.gate_metric_name} = {{}}', "
                    "$.result.training_job_name, $.metric.value)"
                ),
                "InferenceSpecification": {
                    "Containers": [
                        {
                            "Image": self.inference_image,
                            "ModelDataUrl.$": "$.result.model_data_url",
                        }
                    ],
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedResponseMIMETypes": ["text/csv", "application/json"],
                    "SupportedRealtimeInferenceInstanceTypes": list(p.inference_instance_types),
                    "SupportedTransformInstanceTypes": list(p.transform_instance_types),
                },
                "CustomerMetadataProperties": {
                    "training_job_name.$": "$.result.training_job_name",
                    "gate_metric": p.gate_metric_name,
                    "gate_metric_value.$": "States.Format('{}', $.metric.value)",
                    "execution_arn.$": "$$.Execution.Id",
                },
            },
            result_selector={"model_package_arn.$": "$.ModelPackageArn"},
            result_path="$.registration",
        )
        task.add_retry(
            errors=["SageMaker.ThrottlingException", "SageMaker.SageMakerException"],
            interval=Duration.seconds(5),
            backoff_rate=2,
            max_attempts=5,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _timeout_s(self) -> int:
        p = self.props
        per_job = p.max_wait_s if p.use_spot_instances else p.max_runtime_s
        waves = 1
        if p.tuning is not None:
            waves = math.ceil(p.tuning.max_training_jobs / p.tuning.max_parallel_training_jobs)
        return per_job * waves + 3600

    # ------------------------------------------------------------------------------- access

    def _grant_state_machine(self) -> None:
        p = self.props
        sm = self.state_machine
        if p.tuning is None:
            kind, actions, rule = (
                "training-job",
                ["CreateTrainingJob", "DescribeTrainingJob", "StopTrainingJob"],
                "StepFunctionsGetEventsForSageMakerTrainingJobsRule",
            )
            name_pattern = f"{p.job_name_prefix}-*"
        else:
            kind, actions, rule = (
                "hyper-parameter-tuning-job",
                [
                    "CreateHyperParameterTuningJob",
                    "DescribeHyperParameterTuningJob",
                    "StopHyperParameterTuningJob",
                    "ListTrainingJobsForHyperParameterTuningJob",
                ],
                "StepFunctionsGetEventsForSageMakerTuningJobsRule",
            )
            name_pattern = f"{p.tuning.job_name_prefix}-*"
        job_arn = common.sagemaker_arn(kind, name_pattern)
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=[f"sagemaker:{a}" for a in actions]
                + ["sagemaker:AddTags", "sagemaker:ListTags"],
                resources=[job_arn],
            )
        )
        sm.add_to_role_policy(common.pass_role_statement([p.training_role]))
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[common.sync_events_rule_arn(rule)],
            )
        )
        # SageMaker creates grants on the key for the job's volume and output on behalf of the
        # caller of CreateTrainingJob.
        sm.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:CreateGrant", "kms:DescribeKey"],
                resources=[p.encryption_key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            )
        )
        policy = sm.role.node.find_child("DefaultPolicy")
        group = p.model_package_group_name
        common.acknowledge(
            policy,
            {
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                f"<AWS::AccountId>:{kind}/{name_pattern}]": (
                    f"Job names are generated per execution as {name_pattern}; the statement "
                    "is limited to this state machine's name prefix, not every job."
                ),
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:"
                f"<AWS::AccountId>:model-package/{group}/*]": (
                    f"Model package versions are numbered by SageMaker inside group {group}; "
                    "the statement covers only that group's versions."
                ),
            },
        )

    def _grant_training_role(self) -> None:
        p = self.props
        data = p.data_bucket
        artifacts = p.artifacts_bucket
        statements = (
            []
            if not p.grant_role_access
            else [
                iam.PolicyStatement(
                    sid="ReadTrainingData",
                    actions=["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[data.bucket_arn, data.arn_for_objects("*")],
                ),
                iam.PolicyStatement(
                    sid="WriteModelArtifacts",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[artifacts.arn_for_objects(f"{p.output_prefix}*")],
                ),
                iam.PolicyStatement(
                    sid="ReadWriteCheckpoints",
                    actions=[
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                    ],
                    resources=[artifacts.arn_for_objects(f"{p.checkpoint_prefix}*")],
                ),
                iam.PolicyStatement(
                    sid="ListArtifacts",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[artifacts.bucket_arn],
                ),
                *common.data_key_statements(p.encryption_key),
            ]
        )
        if self.code is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadTrainingCode",
                    actions=["s3:GetObject"],
                    resources=[self.code.bucket.arn_for_objects(self.code.object_key)],
                )
            )
            statements.append(
                iam.PolicyStatement(
                    sid="ListTrainingCode",
                    actions=["s3:ListBucket"],
                    resources=[self.code.bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{self.code.object_key}*"]}},
                )
            )
        if not statements:
            return
        policy = iam.ManagedPolicy(
            self,
            "TrainingRoleAccess",
            description="S3 and KMS access of the SageMaker training jobs this state machine runs",
            statements=statements,
            roles=[p.training_role],
        )
        common.acknowledge_wildcard_resources(
            policy,
            {
                "ReadTrainingData": (
                    "Execution input may point the train and validation channels at any prefix "
                    "of the data bucket, and SageMaker reads every object under a channel's "
                    "S3Prefix; read-only, on this one bucket."
                ),
                "WriteModelArtifacts": (
                    f"SageMaker writes <{p.output_prefix}><job name>/output/model.tar.gz with "
                    "job names generated per execution; write-only, under this prefix."
                ),
                "ReadWriteCheckpoints": (
                    f"Spot checkpoints are synced to <{p.checkpoint_prefix}><job name>/ with job "
                    "names generated per execution; limited to this prefix."
                ),
            },
        )
        self.training_role_policy = policy

    # ----------------------------------------------------------------------------- triggers

    def _triggers(self) -> None:
        p = self.props
        if p.schedule_expression:
            events.Rule(
                self,
                "ScheduleRule",
                description="Retrains on a schedule with the default input.",
                schedule=events.Schedule.expression(p.schedule_expression),
                targets=[
                    targets.SfnStateMachine(
                        self.state_machine,
                        input=events.RuleTargetInput.from_object({"trigger": "schedule"}),
                    )
                ],
            )
        if p.trigger_on_new_training_data:
            key_filter = (
                events.Match.wildcard(f"{p.train_prefix}*{p.new_training_data_key_suffix}")
                if p.new_training_data_key_suffix
                else events.Match.prefix(p.train_prefix)
            )
            events.Rule(
                self,
                "NewTrainingDataRule",
                description=f"Trains when new objects arrive under {p.train_prefix}.",
                event_pattern=events.EventPattern(
                    source=["aws.s3"],
                    detail_type=["Object Created"],
                    detail={
                        "bucket": {"name": [p.data_bucket.bucket_name]},
                        "object": {"key": key_filter},
                    },
                ),
                targets=[
                    targets.SfnStateMachine(
                        self.state_machine,
                        input=events.RuleTargetInput.from_object(
                            {
                                "trigger": {
                                    "bucket": events.EventField.from_path("$.detail.bucket.name"),
                                    "key": events.EventField.from_path("$.detail.object.key"),
                                }
                            }
                        ),
                    )
                ],
            )

    def _acknowledge_inline_policies(self) -> None:
        roles = [self.state_machine.role]
        events_role = self.state_machine.node.try_find_child("EventsRole")
        if isinstance(events_role, iam.Role):
            roles.append(events_role)
        for role in roles:
            policy = role.node.try_find_child("DefaultPolicy")
            if policy is None:
                continue
            common.acknowledge(
                policy,
                {
                    f"{pack}-IAMNoInlinePolicy": (
                        "CDK's default policy of a role that this construct creates for this "
                        "state machine alone (execution role / EventBridge start role); it is "
                        "created, changed and deleted with that role and shared with nothing."
                    )
                    for pack in ("NIST.800.53.R5", "HIPAA.Security")
                },
            )

    # ------------------------------------------------------------------------------- outputs

    @property
    def model_package_group_arn(self) -> str:
        if self.model_package_group is not None:
            return self.model_package_group.attr_model_package_group_arn
        return Stack.of(self).format_arn(
            service="sagemaker",
            resource="model-package-group",
            resource_name=self.props.model_package_group_name,
        )


def model_package_group(
    scope: Construct, name: str, description: str
) -> sagemaker.CfnModelPackageGroup:
    """The model registry: the record of every model that passed the gate, kept (with its
    versions) when its stack is deleted."""
    group = sagemaker.CfnModelPackageGroup(
        scope,
        "ModelPackageGroup",
        model_package_group_name=name,
        model_package_group_description=description,
    )
    group.apply_removal_policy(RemovalPolicy.RETAIN)
    return group
