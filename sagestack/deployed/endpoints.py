"""The environment's SageMaker endpoints: status and production variants, and InvokeEndpoint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagestack.deployed.connection import Connection
from sagestack.serving.client import InvokeResult, invoke_runtime

SDK_PREFIX = "sagestack-"  # deploy() names (sagestack.sdk.naming.unique_name)


@dataclass(frozen=True)
class Variant:
    name: str
    model: str
    compute: str  # "ml.m5.large x1" or "serverless 2048 MiB, 5 concurrent"
    weight: float | None


@dataclass(frozen=True)
class EndpointRow:
    name: str
    status: str
    created: datetime | None
    config_name: str
    variants: list[Variant]
    failure_reason: str | None
    origin: str  # Serving stack / SDK deploy()


def _variants(endpoint: dict[str, Any], config: dict[str, Any]) -> list[Variant]:
    live = {v["VariantName"]: v for v in endpoint.get("ProductionVariants", [])}
    variants = []
    for v in config.get("ProductionVariants", []):
        serverless = v.get("ServerlessConfig")
        if serverless:
            compute = (
                f"serverless {serverless.get('MemorySizeInMB')} MiB, "
                f"{serverless.get('MaxConcurrency')} concurrent"
            )
        else:
            count = live.get(v["VariantName"], {}).get(
                "CurrentInstanceCount", v.get("InitialInstanceCount")
            )
            compute = f"{v.get('InstanceType', '?')} x{count}"
        weight = live.get(v["VariantName"], {}).get("CurrentWeight", v.get("InitialVariantWeight"))
        variants.append(Variant(v["VariantName"], v.get("ModelName", ""), compute, weight))
    return variants


def describe_endpoint(connection: Connection, name: str) -> EndpointRow:
    sagemaker = connection.client("sagemaker")
    served = connection.platform().values.get("endpoint-name")
    with connection.errors():
        endpoint = sagemaker.describe_endpoint(EndpointName=name)
        config = sagemaker.describe_endpoint_config(
            EndpointConfigName=endpoint["EndpointConfigName"]
        )
    return EndpointRow(
        name=name,
        status=endpoint["EndpointStatus"],
        created=endpoint.get("CreationTime"),
        config_name=endpoint["EndpointConfigName"],
        variants=_variants(endpoint, config),
        failure_reason=endpoint.get("FailureReason"),
        origin="Serving stack" if name == served else "SDK deploy()",
    )


def list_endpoints(connection: Connection) -> list[EndpointRow]:
    """The Serving stack's endpoint and those deploy() created, newest first."""
    served = connection.platform().values.get("endpoint-name")
    with connection.errors():
        summaries = connection.client("sagemaker").list_endpoints(
            SortBy="CreationTime", SortOrder="Descending", MaxResults=100
        )["Endpoints"]
    names = [
        s["EndpointName"]
        for s in summaries
        if s["EndpointName"] == served or s["EndpointName"].startswith(SDK_PREFIX)
    ]
    return [describe_endpoint(connection, name) for name in names]


def is_environment_endpoint(connection: Connection, name: str) -> bool:
    return name == connection.platform().values.get("endpoint-name") or name.startswith(SDK_PREFIX)


def invoke(
    connection: Connection, name: str, body: bytes, content_type: str, accept: str | None
) -> InvokeResult:
    """InvokeEndpoint through sagemaker-runtime; a model error keeps its status and text."""
    with connection.errors():
        return invoke_runtime(
            connection.client("sagemaker-runtime"),
            name,
            body,
            content_type=content_type,
            accept=accept,
        )
