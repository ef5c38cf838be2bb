"""The training state machine: resolve input, run the job, gate on its metric, register."""

from __future__ import annotations

import math
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from stacks.constructs import prop_checks
from stacks.constructs.image_uri import XGBOOST_VERSION
from stacks.constructs.naming import execution_job_name, sagemaker_arn, short_execution_job_name
from stacks.constructs.state_machines import SAGEMAKER_THROTTLING_ERRORS, observed_state_machine
from stacks.constructs.training.job_definition import JobDefinition
from stacks.constructs.training.props import MetricDirection, TrainingJobProps


def training_state_machine(
    scope: Construct,
    *,
    job_definition: JobDefinition,
    inference_image: str,
    key: kms.IKey,
    topic: sns.ITopic,
) -> sfn.StateMachine:
    """The state machine that IS the training job definition; its states are children of
    ``scope``, so their IDs are the state names in the definition."""
    p = job_definition.props
    chain = _definition(scope, job_definition, inference_image)
    return observed_state_machine(
        scope,
        definition=chain,
        key=key,
        topic=topic,
        timeout=Duration.seconds(_timeout_s(p)),
        log_retention=p.log_retention,
        name=p.state_machine_name,
        comment=(
            f"Trains XGBoost {XGBOOST_VERSION} ({p.mode.value} mode), gates on "
            f"{p.gate_metric_name} and registers in {p.model_package_group_name}."
        ),
    )


def _overridable_defaults(p: TrainingJobProps) -> dict[str, Any]:
    bucket = p.data_bucket.bucket_name
    return {
        "train_s3_uri": f"s3://{bucket}/{p.train_prefix}",
        "validation_s3_uri": f"s3://{bucket}/{p.validation_prefix}",
        "hyperparameters": dict(sorted(p.hyperparameters.items())),
        "instance_type": p.instance_type,
        "instance_count": p.instance_count,
    }


def _definition(
    scope: Construct, job_definition: JobDefinition, inference_image: str
) -> sfn.IChainable:
    p = job_definition.props
    artifacts = p.artifacts_bucket.bucket_name
    tuning = p.tuning is not None
    name_expr = (
        short_execution_job_name(p.tuning.job_name_prefix)
        if p.tuning is not None
        else execution_job_name(p.job_name_prefix)
    )

    apply_defaults = sfn.Pass(
        scope,
        "ApplyDefaults",
        comment="Defaults from config; the execution input overrides any of these keys.",
        parameters={
            "input.$": "$",
            "defaults": _overridable_defaults(p),
            "fixed_hyperparameters": job_definition.fixed_hyperparameters(),
        },
    )
    resolve_input = sfn.Pass(
        scope,
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
        scope,
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

    job = job_definition.state(scope)
    job.add_retry(
        errors=SAGEMAKER_THROTTLING_ERRORS,
        interval=Duration.seconds(10),
        backoff_rate=2,
        max_attempts=5,
        jitter_strategy=sfn.JitterType.FULL,
    )

    metric = p.gate_metric_name
    metric_missing = sfn.Fail(
        scope,
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
            scope,
            "SelectBestTrainingJob",
            parameters={
                "values.$": (
                    "States.Array($.tuning.BestTrainingJob"
                    ".FinalHyperParameterTuningJobObjectiveMetric.Value)"
                ),
                "training_job_name.$": "$.tuning.BestTrainingJob.TrainingJobName",
                "model_data_url.$": (
                    f"States.Format('{job_definition.output_s3_uri}/{{}}/output/model.tar.gz', "
                    "$.tuning.BestTrainingJob.TrainingJobName)"
                ),
            },
            result_path="$.result",
        )
    else:
        has_result = sfn.Condition.is_present("$.training.FinalMetricDataList")
        select = sfn.Pass(
            scope,
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
        scope,
        "CountMetricValues",
        parameters={"count.$": "States.ArrayLength($.result.values)"},
        result_path="$.result_count",
    )
    take = sfn.Pass(
        scope,
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
        scope,
        "QualityGateFailed",
        error="QualityGateFailed",
        cause_path=(
            f"States.Format('{metric} = {{}} is {relation} the quality gate threshold "
            f"{threshold:g} ({p.quality_gate_direction.value.lower()}); the model of training "
            "job {} was not registered.', $.metric.value, $.result.training_job_name)"
        ),
    )
    register = _register_state(scope, p, inference_image)
    done = sfn.Succeed(scope, "Registered", output_path="$.registration")

    gate = (
        sfn.Choice(scope, "QualityGate", comment=f"{metric} against {threshold:g}")
        .when(passes, register.next(done))
        .otherwise(gate_failed)
    )
    reported = (
        sfn.Choice(scope, "MetricReported")
        .when(sfn.Condition.number_greater_than("$.result_count.count", 0), take.next(gate))
        .otherwise(metric_missing)
    )
    has_metrics = (
        sfn.Choice(scope, "HasFinalMetrics")
        .when(has_result, select.next(count).next(reported))
        .otherwise(metric_missing)
    )
    return (
        apply_defaults.next(resolve_input).next(resolve_hyperparameters).next(job).next(has_metrics)
    )


def _register_state(
    scope: Construct, p: TrainingJobProps, inference_image: str
) -> tasks.CallAwsService:
    group = p.model_package_group_name
    task = tasks.CallAwsService(
        scope,
        "RegisterModel",
        comment="CreateModelPackage in the model package group.",
        service="sagemaker",
        action="createModelPackage",
        iam_action="sagemaker:CreateModelPackage",
        iam_resources=[
            sagemaker_arn("model-package-group", group),
            sagemaker_arn("model-package", f"{group}/*"),
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
                        "Image": inference_image,
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


def _timeout_s(p: TrainingJobProps) -> int:
    per_job = prop_checks.resolved(p.max_wait_s) if p.use_spot_instances else p.max_runtime_s
    waves = 1
    if p.tuning is not None:
        waves = math.ceil(p.tuning.max_training_jobs / p.tuning.max_parallel_training_jobs)
    return per_job * waves + 3600
