"""cdk-nag: three packs in every Stage, nothing unacknowledged, every acknowledgement used."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.nag import NAG_PACKS

from .conftest import ALL_STACK_IDS, ENVIRONMENTS, Synth


def _metadata_acknowledgements(synth: Synth) -> set[tuple[str, str]]:
    acknowledged = set()
    for path in synth.outdir.rglob("*.metadata.json"):
        for construct_path, entries in json.loads(path.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule_id in entry["data"]:
                        # CDK acknowledges some of its own CloudFormation-Validate rules; ours only.
                        if rule_id.split("::")[0] in NAG_PACKS:
                            acknowledged.add((construct_path.lstrip("/"), rule_id))
    return acknowledged


def _suppressed(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in report["pluginReports"] for s in p.get("suppressedViolations") or []]


def test_no_unacknowledged_findings_in_any_pack(synth: Synth) -> None:
    report = synth.validation_report()
    open_findings = [
        (p["pluginName"], v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]])
        for p in report["pluginReports"]
        for v in p["violations"]
    ]
    assert open_findings == []
    assert all(p["conclusion"] == "success" for p in report["pluginReports"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("pack", NAG_PACKS)
def test_each_pack_runs_inside_each_stage(synth: Synth, env: str, pack: str) -> None:
    # A pack that ran reports at least its acknowledged findings, under this Stage's paths only.
    reports = [p for p in synth.validation_report()["pluginReports"] if p["pluginName"] == pack]
    paths = {
        c["constructPath"].split("/")[0]
        for p in reports
        for s in p.get("suppressedViolations") or []
        for c in s["violatingConstructs"]
    }
    assert f"SageStack-{env}" in paths
    assert len(reports) == len(ENVIRONMENTS)  # one plugin per Stage, none on the App


def test_every_acknowledgement_matches_a_finding(synth: Synth) -> None:
    used = {
        (s["acknowledgedAt"], s["acknowledgedId"]) for s in _suppressed(synth.validation_report())
    }
    declared = _metadata_acknowledgements(synth)
    assert declared - used == set(), "stale acknowledgements"
    assert used - declared == set()


def test_acknowledgements_sit_on_resources_with_evidence(synth: Synth) -> None:
    stack_paths = {
        f"SageStack-{env}/{stack}" for env in ENVIRONMENTS for stack in ALL_STACK_IDS[env]
    }
    for suppressed in _suppressed(synth.validation_report()):
        where = suppressed["acknowledgedAt"]
        assert where not in stack_paths and where.count("/") >= 2, where
        assert len(suppressed.get("reason", "")) >= 60, suppressed
        rule = suppressed["ruleName"]
        assert suppressed["acknowledgedId"] == f"{rule.split('-')[0]}::{rule}"
        for construct in suppressed["violatingConstructs"]:
            assert construct["constructPath"].startswith(f"{where}/"), (where, construct)


def test_only_the_expected_rules_are_acknowledged(synth: Synth) -> None:
    rules = {s["ruleName"].split("[")[0] for s in _suppressed(synth.validation_report())}
    assert rules == {
        "AwsSolutions-IAM4",
        "AwsSolutions-IAM5",
        "AwsSolutions-EC29",
        "NIST.800.53.R5-IAMNoInlinePolicy",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
        "NIST.800.53.R5-S3DefaultEncryptionKMS",
        "HIPAA.Security-IAMNoInlinePolicy",
        "HIPAA.Security-S3BucketReplicationEnabled",
        "HIPAA.Security-S3DefaultEncryptionKMS",
        # The S3 prefix-list lookup's provider function (stacks/constructs/s3_prefix_list.py).
        "NIST.800.53.R5-LambdaConcurrency",
        "NIST.800.53.R5-LambdaDLQ",
        "NIST.800.53.R5-LambdaInsideVPC",
        "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        "HIPAA.Security-LambdaConcurrency",
        "HIPAA.Security-LambdaDLQ",
        "HIPAA.Security-LambdaInsideVPC",
        "HIPAA.Security-CloudWatchLogGroupEncrypted",
    }


def test_kms_default_encryption_acknowledged_only_on_the_access_log_bucket(synth: Synth) -> None:
    paths = {
        c["constructPath"]
        for s in _suppressed(synth.validation_report())
        if s["ruleName"].endswith("S3DefaultEncryptionKMS")
        for c in s["violatingConstructs"]
    }
    assert paths == {
        f"SageStack-{env}/Data/AccessLogBucket/Resource/Resource" for env in ENVIRONMENTS
    }
