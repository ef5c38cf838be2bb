"""Deploy smoke test: every synthesized stack of every environment deploys through
CloudFormation into moto (a server on 127.0.0.1) in dependency order, with its file assets
published first, and reaches CREATE_COMPLETE. Then `cdk destroy` of the stateless stacks is
emulated and the data, the artifacts and the key must still be there.

moto checks that the templates are coherent (references, imports/exports, dependency order,
the resource shapes it models); it is not AWS. What it skips or ignores is listed per stack,
in cfn_emulator.py, and in the README section on the emulator.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import pytest

from .cfn_emulator import (
    ADAPTATIONS,
    KNOWN_TEARDOWN_GAPS,
    NOT_EMULATED,
    TEARDOWN_ADAPTATIONS,
    Emulator,
    StackArtifact,
    publish_assets,
    running_emulator,
    stacks_of,
    stage_dirs,
)
from .conftest import CaseCounter

pytestmark = pytest.mark.slow  # deploys every stack of every environment into the emulator

DATA_STACK_ID = "Data"
PROBE_KEY = "reliability/teardown-probe.txt"
PROBE_BODY = b"must survive cdk destroy"


def _stack_id(stack: StackArtifact) -> str:
    return stack.display_name.split("/")[-1]


def _observe(emu: Emulator, created: dict[str, dict[str, tuple[str, str]]]) -> list[str]:
    """Properties moto does apply, read back through the service APIs."""
    problems = []
    s3, kms, ec2, sagemaker = (emu.client(s) for s in ("s3", "kms", "ec2", "sagemaker"))
    for stack_name, resources in created.items():
        for logical_id, (kind, physical_id) in resources.items():
            where = f"{stack_name}/{logical_id}"
            name = physical_id.rsplit("/", 1)[-1]  # moto's SageMaker ids are ARNs
            if kind == "AWS::S3::Bucket":
                rules = s3.get_bucket_encryption(Bucket=physical_id)[
                    "ServerSideEncryptionConfiguration"
                ]["Rules"]
                algorithms = {
                    r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for r in rules
                }
                if not algorithms <= {"aws:kms", "AES256"}:
                    problems.append(f"{where}: encryption {algorithms}")
            elif kind == "AWS::KMS::Key":
                if not kms.get_key_rotation_status(KeyId=physical_id)["KeyRotationEnabled"]:
                    problems.append(f"{where}: rotation off")
            elif kind == "AWS::SageMaker::Model":
                vpc = sagemaker.describe_model(ModelName=name).get("VpcConfig") or {}
                if not vpc.get("Subnets") or not vpc.get("SecurityGroupIds"):
                    problems.append(f"{where}: no VpcConfig")
            elif kind == "AWS::SageMaker::EndpointConfig":
                config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
                if not config.get("KmsKeyId"):
                    problems.append(f"{where}: no KmsKeyId")
            elif kind == "AWS::EC2::LaunchTemplate":
                versions = ec2.describe_launch_template_versions(LaunchTemplateId=physical_id)
                for version in versions["LaunchTemplateVersions"]:
                    tokens = version["LaunchTemplateData"].get("MetadataOptions", {})
                    if tokens.get("HttpTokens") != "required":
                        problems.append(f"{where}: IMDSv1 allowed")
    for group in ec2.describe_security_groups()["SecurityGroups"]:
        for permission in group["IpPermissions"]:
            sources = [r["CidrIp"] for r in permission.get("IpRanges", [])]
            sources += [r["CidrIpv6"] for r in permission.get("Ipv6Ranges", [])]
            if set(sources) & {"0.0.0.0/0", "::/0"}:
                problems.append(f"{group['GroupName']}: ingress from anywhere")
    return problems


def _survivors(emu: Emulator, data: dict[str, tuple[str, str]]) -> list[str]:
    """What is missing of the Data stack's buckets (with the probe object) and keys."""
    missing = []
    s3, kms = emu.client("s3"), emu.client("kms")
    for logical_id, (kind, physical_id) in data.items():
        try:
            if kind == "AWS::S3::Bucket":
                s3.head_bucket(Bucket=physical_id)
                body = s3.get_object(Bucket=physical_id, Key=PROBE_KEY)["Body"].read()
                if body != PROBE_BODY:
                    missing.append(f"{logical_id}: probe object changed")
            elif kind == "AWS::KMS::Key":
                kms.encrypt(KeyId=physical_id, Plaintext=b"still usable")
        except Exception as error:  # noqa: BLE001 - what is gone is the finding
            missing.append(f"{logical_id} ({kind}): {error}")
    return missing


def deploy_everything(assembly: Path) -> dict[str, Any]:
    """Deploy every stage, observe, emulate the teardown; a JSON-able report."""
    report: dict[str, Any] = {"stacks": [], "images": [], "observed": [], "teardown": []}
    with running_emulator() as emu:
        created: dict[str, dict[str, tuple[str, str]]] = {}
        stages = []
        for stage in stage_dirs(assembly):
            env = stage.name.removeprefix("assembly-SageStack-")
            report["images"] += publish_assets(stage, emu.s3)
            stacks = stacks_of(stage)
            stages.append((env, stacks))
            for stack in stacks:
                result = emu.deploy(stack)
                report["stacks"].append(
                    {
                        "env": env,
                        "stack": _stack_id(stack),
                        "name": stack.stack_name,
                        "status": result.status,
                        "reason": result.reason,
                        "resources": len(result.template_resources),
                        "created": len(result.created),
                        "not_emulated": result.not_emulated,
                        "adaptations": sorted(set(result.adaptations)),
                        "summary": result.summary(),
                    }
                )
                if result.status == "CREATE_COMPLETE":
                    created[stack.stack_name] = emu.physical_ids(stack.stack_name)
        report["observed"] = _observe(emu, created)

        for env, stacks in stages:
            data_stack = next(s for s in stacks if _stack_id(s) == DATA_STACK_ID)
            data = {
                k: v
                for k, v in created.get(data_stack.stack_name, {}).items()
                if v[0] in ("AWS::S3::Bucket", "AWS::KMS::Key")
            }
            for kind, bucket in data.values():
                if kind == "AWS::S3::Bucket":
                    emu.s3.put_object(Bucket=bucket, Key=PROBE_KEY, Body=PROBE_BODY)
            steps = []
            for stack in reversed(stacks):
                if stack is data_stack or stack.stack_name not in created:
                    continue
                status, applied = emu.destroy(stack.stack_name)
                steps.append({"stack": stack.stack_name, "status": status, "adapted": applied})
            after_stateless = _survivors(emu, data)
            if data_stack.termination_protection:
                # moto does not enforce termination protection; the assembly is checked instead.
                data_status, after_data = "NOT_DELETED: termination protection", None
            else:
                data_status, applied = emu.destroy(data_stack.stack_name)
                steps.append(
                    {"stack": data_stack.stack_name, "status": data_status, "adapted": applied}
                )
                after_data = _survivors(emu, data)
            report["teardown"].append(
                {
                    "env": env,
                    "data": {k: list(v) for k, v in data.items()},
                    "steps": steps,
                    "missing_after_stateless": after_stateless,
                    "data_stack": data_status,
                    "missing_after_data": after_data,
                }
            )
    return report


@pytest.fixture(scope="session")
def deployment(assembly: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One emulator run per session, shared by xdist workers like the synth."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    cached = shared / "sagestack-emulator-report.json"
    with open(shared / "sagestack-emulator.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not cached.exists():
            cached.write_text(json.dumps(deploy_everything(assembly), indent=1))
    return json.loads(cached.read_text())  # type: ignore[no-any-return]


def test_every_stack_of_every_environment_reaches_create_complete(
    deployment: dict[str, Any], assembly: Path, case_counter: CaseCounter
) -> None:
    expected = sorted(s.stack_name for stage in stage_dirs(assembly) for s in stacks_of(stage))
    stacks = deployment["stacks"]
    assert sorted(s["name"] for s in stacks) == expected, "every stack of the assembly deployed"
    for stack in stacks:
        print(stack["summary"])
    case_counter.record(
        "emulator: stacks deployed",
        len(stacks),
        results=[s["summary"] for s in stacks],
    )
    failed = [
        f"{s['name']}: {s['status']} {s['reason']}"
        for s in stacks
        if s["status"] != "CREATE_COMPLETE"
    ]
    assert not failed, "\n".join(failed)
    assert deployment["images"] == [], "docker image assets cannot be published to the emulator"


def test_only_documented_resource_types_go_unemulated(deployment: dict[str, Any]) -> None:
    undocumented = {
        f"{s['name']}/{logical_id}: {kind}"
        for s in deployment["stacks"]
        for logical_id, kind in s["not_emulated"].items()
        if kind not in NOT_EMULATED
        and not (kind.startswith("Custom::") and "custom-resource" in s["adaptations"])
    }
    assert not undocumented, "add to NOT_EMULATED with what it means:\n" + "\n".join(
        sorted(undocumented)
    )
    # Most of every stack is really created, not skipped.
    for stack in deployment["stacks"]:
        assert stack["created"] >= stack["resources"] * 0.6, stack["summary"]


def test_templates_are_adapted_only_in_documented_ways(deployment: dict[str, Any]) -> None:
    used = {a for s in deployment["stacks"] for a in s["adaptations"]}
    assert used <= set(ADAPTATIONS), used - set(ADAPTATIONS)
    used = {a for t in deployment["teardown"] for step in t["steps"] for a in step["adapted"]}
    assert used <= set(TEARDOWN_ADAPTATIONS), used - set(TEARDOWN_ADAPTATIONS)


def test_the_emulator_reads_back_encryption_rotation_imdsv2_and_private_networking(
    deployment: dict[str, Any],
) -> None:
    assert deployment["observed"] == []


def test_destroying_the_stateless_stacks_keeps_data_artifacts_and_the_key(
    deployment: dict[str, Any], case_counter: CaseCounter
) -> None:
    problems = []
    for teardown in deployment["teardown"]:
        env = teardown["env"]
        kinds = sorted(kind for kind, _ in teardown["data"].values())
        if kinds.count("AWS::S3::Bucket") < 3 or "AWS::KMS::Key" not in kinds:
            problems.append(f"{env}: expected 3 buckets and the key in the Data stack, got {kinds}")
        for step in teardown["steps"]:
            status = step["status"]
            gap = KNOWN_TEARDOWN_GAPS.get(step["stack"].rsplit("-", 1)[-1])
            known = gap is not None and gap[0] in status
            if status != "DELETE_COMPLETE" and not known:
                problems.append(f"{env}: {step['stack']} {status}")
        problems += [
            f"{env}: lost after destroying stateless stacks: {m}"
            for m in teardown["missing_after_stateless"]
        ]
        if teardown["missing_after_data"] is not None:
            problems += [
                f"{env}: lost after destroying the Data stack: {m}"
                for m in teardown["missing_after_data"]
            ]
    case_counter.record(
        "emulator: teardown",
        len(deployment["teardown"]),
        steps={
            t["env"]: [f"{s['stack']}: {s['status'][:60]}" for s in t["steps"]]
            for t in deployment["teardown"]
        },
        data_stack={t["env"]: t["data_stack"] for t in deployment["teardown"]},
    )
    assert not problems, "\n".join(problems)
    prod = next(t for t in deployment["teardown"] if t["env"] == "prod")
    assert prod["data_stack"].startswith("NOT_DELETED")
