"""Deploys a synthesized cloud assembly into moto's CloudFormation on loopback, as `cdk deploy`
would: publish the file assets to the bootstrap bucket, then create every stack in dependency
order and read back what the emulator really created.

moto is a smoke test, not AWS (ARCHITECTURE.md, toolchain facts): it creates most resources but
ignores many properties. Where it cannot take a template as synthesized, the template is
adapted in one of the few ways listed in ADAPTATIONS, each recorded per stack, and resources of
types moto does not model are reported as not emulated instead of being counted as created.
"""

from __future__ import annotations

import copy
import io
import json
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto_loopback import moto_server

ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
BOOTSTRAP_QUALIFIER = "hnb659fds"
BOOTSTRAP_VERSION = "30"

# Every way a template is changed before moto sees it; the test fails on anything else.
ADAPTATIONS = {
    "custom-resource": (
        "Custom::* / AWS::CloudFormation::CustomResource becomes a WaitConditionHandle: moto "
        "runs a custom resource's provider Lambda inside Docker, which this machine does not "
        "have. The provider function itself is still created; its code never runs."
    ),
    "unsupported-getatt": (
        "Fn::GetAtt of an attribute moto's model of that resource does not implement (e.g. "
        "NotebookInstanceArn), or of a resource whose type moto does not model (e.g. a "
        "CloudWatch alarm's Arn), becomes a placeholder ARN, so the reference still resolves."
    ),
    "portless-protocol": (
        "Security group rules for a protocol without ports (IpProtocol 50, ESP) get "
        "FromPort/ToPort -1, which AWS applies to such protocols anyway; moto's rule model "
        "requires ports and fails with a server error without them."
    ),
}

# What `cdk destroy` relies on CloudFormation to do and moto's delete does not; done through
# the service APIs just before the stack is deleted, each recorded per stack.
TEARDOWN_ADAPTATIONS = {
    "detach-managed-policies": (
        "moto deletes an AWS::IAM::ManagedPolicy without detaching it from its roles, and then "
        "cannot delete those roles (DeleteConflict); CloudFormation detaches first."
    ),
    "delete-vpc-endpoints": (
        "moto never deletes AWS::EC2::VPCEndpoint resources with their stack, so their VPC "
        "cannot be deleted (DependencyViolation)."
    ),
}
# Stack deletions moto refuses for reasons of its own, per stack id: (error fragment, why).
# A refusal of any other stack, or with another error, fails the test.
KNOWN_TEARDOWN_GAPS = {
    "Network": (
        "has dependencies and cannot be deleted",
        "moto's delete leaves the stack's subnet route tables (and, where a dev box ran, the "
        "terminated instance's primary network interface) in the VPC, then refuses to delete "
        "the VPC (DependencyViolation). Nothing of the Data stack is involved.",
    ),
}

# Types moto's CloudFormation does not model: it skips them and still reports CREATE_COMPLETE.
# They are listed per stack as "not emulated"; a type outside this list fails the test, so a
# new gap is written down here (with what it means) before it is accepted.
NOT_EMULATED = {
    "AWS::S3::BucketPolicy": "SSL-only/TLS 1.2 bucket policies: checked in the templates only",
    "AWS::EC2::SecurityGroupEgress": "standalone egress rules: checked in the templates only",
    "AWS::SageMaker::ModelPackageGroup": "the model registry group",
    "AWS::SNS::TopicPolicy": "TLS-only topic policies",
    "AWS::CloudWatch::Alarm": "endpoint rollback alarms",
    "AWS::ApplicationAutoScaling::ScalableTarget": "endpoint variant autoscaling",
    "AWS::ApplicationAutoScaling::ScalingPolicy": "endpoint variant autoscaling",
    "AWS::CloudFormation::WaitConditionHandle": "a no-op (stands in for custom resources)",
    # moto has no CodeArtifact: the exports of their ARNs resolve to placeholder ARNs, so the
    # stacks that import them still deploy. Key, retention and external connection are checked in
    # tests/infra (templates); pip through the mirror in the sandbox runs of the scripts.
    "AWS::CodeArtifact::Domain": "the package mirror's domain (not in moto)",
    "AWS::CodeArtifact::Repository": "the package mirror's PyPI repository (not in moto)",
}


@dataclass
class StackResult:
    """What happened to one stack in the emulator."""

    name: str
    status: str
    reason: str | None
    template_resources: dict[str, str]  # logical id -> type
    created: set[str] = field(default_factory=set)
    adaptations: list[str] = field(default_factory=list)

    @property
    def not_emulated(self) -> dict[str, str]:
        return {k: t for k, t in self.template_resources.items() if k not in self.created}

    def summary(self) -> str:
        skipped = sorted({t for t in self.not_emulated.values()})
        line = (
            f"{self.name}: {self.status}, {len(self.created)}/{len(self.template_resources)} "
            "resources created"
        )
        if skipped:
            line += f"; not emulated: {', '.join(skipped)}"
        if self.adaptations:
            line += f"; adapted: {', '.join(sorted(set(self.adaptations)))}"
        return line


@dataclass(frozen=True)
class StackArtifact:
    """One stack of a Stage's cloud assembly."""

    artifact_id: str
    stack_name: str
    display_name: str
    template: dict[str, Any]
    termination_protection: bool
    dependencies: tuple[str, ...]


def stage_dirs(outdir: Path) -> list[Path]:
    """Every nested (Stage) assembly: one per environment."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    dirs = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] == "cdk:cloud-assembly":
            dirs.append(outdir / artifact["properties"]["directoryName"])
    return sorted(dirs)


def stacks_of(stage_dir: Path) -> list[StackArtifact]:
    """The stage's stacks in an order that deploys each after the stacks it depends on."""
    manifest = json.loads((stage_dir / "manifest.json").read_text())
    artifacts = manifest["artifacts"]
    stacks = {k: v for k, v in artifacts.items() if v["type"] == "aws:cloudformation:stack"}
    ordered: list[str] = []

    def visit(artifact_id: str, path: tuple[str, ...]) -> None:
        if artifact_id in ordered:
            return
        if artifact_id in path:
            raise ValueError(f"dependency cycle: {' -> '.join(path + (artifact_id,))}")
        for dependency in stacks[artifact_id].get("dependencies", []):
            if dependency in stacks:
                visit(dependency, path + (artifact_id,))
        ordered.append(artifact_id)

    for artifact_id in sorted(stacks):
        visit(artifact_id, ())
    result = []
    for artifact_id in ordered:
        artifact = stacks[artifact_id]
        properties = artifact["properties"]
        result.append(
            StackArtifact(
                artifact_id=artifact_id,
                stack_name=properties.get("stackName", artifact_id),
                display_name=artifact.get("displayName", artifact_id),
                template=json.loads((stage_dir / properties["templateFile"]).read_text()),
                termination_protection=bool(properties.get("terminationProtection")),
                dependencies=tuple(d for d in artifact.get("dependencies", []) if d in stacks),
            )
        )
    return result


def _zip_directory(source: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(source).as_posix())
    return buffer.getvalue()


def _substitute(text: str) -> str:
    return (
        text.replace("${AWS::AccountId}", ACCOUNT)
        .replace("${AWS::Region}", REGION)
        .replace("${AWS::Partition}", "aws")
    )


def publish_assets(stage_dir: Path, s3: Any) -> list[str]:
    """Upload every file asset of the stage to its destination, as `cdk deploy` does first.

    Returns the docker image assets, which cannot be published here (no Docker, no registry).
    """
    manifest = json.loads((stage_dir / "manifest.json").read_text())
    images = []
    for artifact in manifest["artifacts"].values():
        if artifact["type"] != "cdk:asset-manifest":
            continue
        assets = json.loads((stage_dir / artifact["properties"]["file"]).read_text())
        for asset in assets.get("files", {}).values():
            source = stage_dir / asset["source"]["path"]
            if asset["source"].get("packaging") == "zip" or source.is_dir():
                body = _zip_directory(source) if source.is_dir() else source.read_bytes()
            else:
                body = source.read_bytes()
            for destination in asset["destinations"].values():
                s3.put_object(
                    Bucket=_substitute(destination["bucketName"]),
                    Key=destination["objectKey"],
                    Body=body,
                )
        images.extend(a.get("displayName", k) for k, a in assets.get("dockerImages", {}).items())
    return images


def _moto_model(resource_type: str) -> Any:
    from moto.cloudformation.parsing import get_model_map

    return get_model_map().get(resource_type)


def adapt_template(template: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The template moto can take, and the ADAPTATIONS keys applied (one per change)."""
    adapted = copy.deepcopy(template)
    applied: list[str] = []
    resources = adapted.get("Resources", {})
    for resource in resources.values():
        kind = resource["Type"]
        if kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            resource["Type"] = "AWS::CloudFormation::WaitConditionHandle"
            resource["Properties"] = {}
            applied.append("custom-resource")
        if kind in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
            rules = [resource.get("Properties", {})]
        elif kind == "AWS::EC2::SecurityGroup":
            properties = resource.get("Properties", {})
            rules = properties.get("SecurityGroupIngress", []) + properties.get(
                "SecurityGroupEgress", []
            )
        else:
            rules = []
        for rule in rules:
            ported = str(rule.get("IpProtocol")) in ("tcp", "udp", "icmp", "icmpv6", "6", "17", "1")
            if not ported and "FromPort" not in rule and "ToPort" not in rule:
                rule["FromPort"] = rule["ToPort"] = -1
                applied.append("portless-protocol")

    types = {logical_id: r["Type"] for logical_id, r in resources.items()}

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Fn::GetAtt"}:
                target, attribute = node["Fn::GetAtt"][0], node["Fn::GetAtt"][1]
                model = _moto_model(types.get(target, ""))
                if model is None or not model.has_cfn_attr(attribute):
                    applied.append("unsupported-getatt")
                    return f"arn:aws:moto-unsupported:{REGION}:{ACCOUNT}:{target}/{attribute}"
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    adapted["Resources"] = walk(resources)
    if "Outputs" in adapted:
        adapted["Outputs"] = walk(adapted["Outputs"])
    return adapted, applied


class Emulator:
    """moto's server on 127.0.0.1 (a free port) with CDK's bootstrap resources in place."""

    def __init__(self, endpoint_url: str) -> None:
        import boto3
        import requests

        # moto's backends live in this process, shared by every server it starts: start empty.
        requests.post(f"{endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=REGION,
        )
        self.endpoint_url = endpoint_url
        self._session = session
        self.cloudformation = self.client("cloudformation")
        self.s3 = self.client("s3")
        ssm = self.client("ssm")
        # What `cdk bootstrap` leaves behind and every synthesized stack checks or uses.
        self.s3.create_bucket(Bucket=f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{REGION}")
        ssm.put_parameter(
            Name=f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version",
            Value=BOOTSTRAP_VERSION,
            Type="String",
        )

    def client(self, service: str) -> Any:
        return self._session.client(service, endpoint_url=self.endpoint_url)

    def deploy(self, stack: StackArtifact) -> StackResult:
        template, applied = adapt_template(stack.template)
        result = StackResult(
            name=stack.stack_name,
            status="NOT_SUBMITTED",
            reason=None,
            template_resources={k: v["Type"] for k, v in stack.template["Resources"].items()},
            adaptations=applied,
        )
        try:
            self.cloudformation.create_stack(
                StackName=stack.stack_name,
                TemplateBody=json.dumps(template),
                Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
                EnableTerminationProtection=stack.termination_protection,
            )
        except Exception as error:  # noqa: BLE001 - the reason is the result
            result.status, result.reason = "CREATE_REJECTED", str(error)
            return result
        described = self.cloudformation.describe_stacks(StackName=stack.stack_name)["Stacks"][0]
        result.status = described["StackStatus"]
        result.reason = described.get("StackStatusReason")
        paginator = self.cloudformation.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=stack.stack_name):
            for summary in page["StackResourceSummaries"]:
                if summary.get("LogicalResourceId"):
                    result.created.add(summary["LogicalResourceId"])
        return result

    def physical_ids(self, stack_name: str) -> dict[str, tuple[str, str]]:
        """logical id -> (type, physical id) of what the stack created."""
        found = {}
        paginator = self.cloudformation.get_paginator("list_stack_resources")
        for page in paginator.paginate(StackName=stack_name):
            for summary in page["StackResourceSummaries"]:
                if summary.get("LogicalResourceId"):
                    found[summary["LogicalResourceId"]] = (
                        summary["ResourceType"],
                        summary.get("PhysicalResourceId", ""),
                    )
        return found

    def destroy(self, stack_name: str) -> tuple[str, list[str]]:
        """Delete the stack as `cdk destroy` would: (final status or error, adaptations)."""
        applied = []
        iam, ec2 = self.client("iam"), self.client("ec2")
        for kind, physical_id in self.physical_ids(stack_name).values():
            if kind == "AWS::IAM::ManagedPolicy":
                attached = iam.list_entities_for_policy(PolicyArn=physical_id)
                for role in attached["PolicyRoles"]:
                    iam.detach_role_policy(RoleName=role["RoleName"], PolicyArn=physical_id)
                    applied.append("detach-managed-policies")
            elif kind == "AWS::EC2::VPCEndpoint":
                ec2.delete_vpc_endpoints(VpcEndpointIds=[physical_id])
                applied.append("delete-vpc-endpoints")
        stack_id = self.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackId"]
        try:
            self.cloudformation.delete_stack(StackName=stack_name)
        except Exception as error:  # noqa: BLE001 - the reason is the result
            return f"DELETE_REFUSED: {error}", applied
        status = self.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
        return str(status["StackStatus"]), applied

    def outputs(self, stack_name: str) -> dict[str, str]:
        stack = self.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@contextmanager
def running_emulator() -> Iterator[Emulator]:
    """A fresh moto server on loopback for the duration of the block."""
    with moto_server() as url, warnings.catch_warnings():
        # moto warns once per resource type it skips; the results list them instead.
        warnings.filterwarnings("ignore", message=".*not supported by moto.*")
        yield Emulator(url)
