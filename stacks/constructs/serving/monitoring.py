"""The endpoint's rollback alarms (5xx errors, p99 latency) and its CloudWatch dashboard."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from stacks.constructs.serving.endpoint import VARIANT_NAME
from stacks.constructs.serving.props import EndpointProps


@dataclass(frozen=True, kw_only=True)
class RollbackAlarmNames:
    """Literal, deterministic alarm names: the endpoint's rollback config names the alarms
    while the alarms' dimensions name the endpoint; referencing both ways would be a cycle."""

    errors: str
    latency: str

    @classmethod
    def of(cls, scope: Construct) -> RollbackAlarmNames:
        unique = Names.unique_resource_name(scope, max_length=200)
        return cls(errors=f"{unique}-Invocation5XXErrors", latency=f"{unique}-ModelLatencyP99")


@dataclass(frozen=True, kw_only=True)
class RollbackAlarms:
    errors_metric: cloudwatch.Metric
    latency_metric: cloudwatch.Metric
    alarms: list[cloudwatch.Alarm]


def endpoint_metric(
    endpoint: sagemaker.CfnEndpoint,
    name: str,
    statistic: str = "Sum",
    namespace: str = "AWS/SageMaker",
    unit: cloudwatch.Unit | None = None,
) -> cloudwatch.Metric:
    """A one-minute metric of the endpoint's one variant."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        dimensions_map={"EndpointName": endpoint.attr_endpoint_name, "VariantName": VARIANT_NAME},
        statistic=statistic,
        period=Duration.minutes(1),
        unit=unit,
    )


def add_rollback_alarms(
    scope: Construct,
    p: EndpointProps,
    endpoint: sagemaker.CfnEndpoint,
    names: RollbackAlarmNames,
    topic: sns.ITopic,
) -> RollbackAlarms:
    """The two alarms the endpoint rolls back on; they also page through ``topic``."""
    errors_metric = endpoint_metric(endpoint, "Invocation5XXErrors")
    latency_metric = endpoint_metric(
        endpoint, "ModelLatency", "p99", unit=cloudwatch.Unit.MICROSECONDS
    )
    alarms = []
    for construct_id, name, metric, threshold, text in (
        (
            "Invocation5XXErrorsAlarm",
            names.errors,
            errors_metric,
            p.invocation_5xx_errors_threshold,
            "model containers returned 5xx errors",
        ),
        (
            "ModelLatencyAlarm",
            names.latency,
            latency_metric,
            p.model_latency_p99_threshold_ms * 1000,
            "p99 model latency (microseconds) is high",
        ),
    ):
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            alarm_name=name,
            alarm_description=f"Rolls back endpoint updates and pages: {text}.",
            metric=metric,
            threshold=threshold,
            evaluation_periods=p.alarm_evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(topic))
        alarm.add_ok_action(cw_actions.SnsAction(topic))
        alarms.append(alarm)
    return RollbackAlarms(errors_metric=errors_metric, latency_metric=latency_metric, alarms=alarms)


def add_dashboard(
    scope: Construct,
    p: EndpointProps,
    endpoint: sagemaker.CfnEndpoint,
    alarms: list[cloudwatch.Alarm],
) -> cloudwatch.Dashboard:
    """Traffic, errors and latency; instance load for instance variants; the alarms' states."""

    def metric(
        name: str, statistic: str = "Sum", namespace: str = "AWS/SageMaker"
    ) -> cloudwatch.Metric:
        return endpoint_metric(endpoint, name, statistic, namespace)

    dashboard = cloudwatch.Dashboard(scope, "Dashboard")
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
    if p.instance_variant:
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
        cloudwatch.AlarmStatusWidget(title="Rollback alarms", alarms=alarms, width=24)
    )
    return dashboard
