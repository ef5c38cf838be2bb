"""The environment's model registry: versions of its model package group, their metrics (what
the Training stack's registration step records), and approving or rejecting one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sagestack.contract.patterns import is_model_package_arn
from sagestack.deployed.connection import Connection
from sagestack.sdk.errors import ConfigurationError

APPROVED = "Approved"
REJECTED = "Rejected"
PENDING = "PendingManualApproval"
PACKAGES_PAGE = 50
MAX_DESCRIPTION = 1024  # UpdateModelPackage ApprovalDescription


@dataclass(frozen=True)
class PackageRow:
    arn: str
    version: int | None
    status: str
    approval: str
    created: datetime | None
    description: str
    approval_description: str
    metrics: dict[str, str]
    training_job: str | None
    model_data_url: str | None


def group_name(connection: Connection) -> str:
    return connection.platform().get("model-package-group-name")


def _row(d: dict[str, Any]) -> PackageRow:
    metadata = dict(d.get("CustomerMetadataProperties") or {})
    metrics = {}
    if metadata.get("gate_metric"):
        metrics[metadata["gate_metric"]] = metadata.get("gate_metric_value", "")
    containers = (d.get("InferenceSpecification") or {}).get("Containers") or [{}]
    return PackageRow(
        arn=d["ModelPackageArn"],
        version=d.get("ModelPackageVersion"),
        status=d.get("ModelPackageStatus", ""),
        approval=d.get("ModelApprovalStatus", ""),
        created=d.get("CreationTime"),
        description=d.get("ModelPackageDescription", ""),
        approval_description=d.get("ApprovalDescription", ""),
        metrics=metrics,
        training_job=metadata.get("training_job_name"),
        model_data_url=containers[0].get("ModelDataUrl"),
    )


def list_packages(connection: Connection, limit: int = PACKAGES_PAGE) -> list[PackageRow]:
    """Newest first; each described, because only DescribeModelPackage has the metrics."""
    group = group_name(connection)
    sagemaker = connection.client("sagemaker")
    with connection.errors():
        summaries = sagemaker.list_model_packages(
            ModelPackageGroupName=group,
            SortBy="CreationTime",
            SortOrder="Descending",
            MaxResults=limit,
        )["ModelPackageSummaryList"]
        return [
            _row(sagemaker.describe_model_package(ModelPackageName=s["ModelPackageArn"]))
            for s in summaries
        ]


def check_package_arn(connection: Connection, arn: str) -> str | None:
    """Why ``arn`` is not a version of this environment's group, or None when it is."""
    if not is_model_package_arn(arn):
        return (
            "Not a model package ARN (arn:aws:sagemaker:<region>:<account>:model-package/"
            "<group>/<version>)."
        )
    group = group_name(connection)
    if arn.split(":", 5)[5].split("/")[1:2] != [group]:
        return f"Not a version of this environment's model package group {group}."
    return None


def set_approval(connection: Connection, arn: str, status: str, description: str) -> PackageRow:
    """UpdateModelPackage: Approved or Rejected, with the reviewer's description."""
    if status not in (APPROVED, REJECTED):
        raise ConfigurationError(f"approval status {status!r}: {APPROVED} or {REJECTED}")
    problem = check_package_arn(connection, arn) or (
        f"The description is {len(description)} characters; at most {MAX_DESCRIPTION}."
        if len(description) > MAX_DESCRIPTION
        else None
    )
    if problem:
        raise ConfigurationError(problem)
    sagemaker = connection.client("sagemaker")
    with connection.errors():
        sagemaker.update_model_package(
            ModelPackageArn=arn, ModelApprovalStatus=status, ApprovalDescription=description
        )
        return _row(sagemaker.describe_model_package(ModelPackageName=arn))
