"""The synthesized assembly as a whole: byte-identical re-synth, cfn-lint clean, the summary."""

from __future__ import annotations

from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint_file

from stacks import summary

from .conftest import ALL_STACK_IDS, ENVIRONMENTS, Synth, synthesize

# cfn-lint warns (W3005) that CDK's own default-security-group custom resource repeats a
# dependency its GetAtt already implies: CDK-generated and harmless.
# The same for the DependsOn CDK adds beside a state machine's role ARN reference.
ALLOWED_WARNINGS = {
    ("W3005", "CustomVpcRestrictDefaultSGCustomResourceProvider"),
    ("W3005", "StateMachineRole"),
    # And beside the AwsCustomResource provider's role (the S3 prefix-list lookup).
    ("W3005", "AWS679f53fac002430cb0da5b7982bd2287ServiceRole"),
}


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.mark.slow
def test_two_synths_are_byte_identical(synth: Synth, tmp_path: Path) -> None:
    synthesize(tmp_path)
    first, second = _files(synth.outdir), _files(tmp_path)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_synth_needs_no_context_lookups(synth: Synth) -> None:
    manifest = (synth.outdir / "manifest.json").read_text()
    assert "missing" not in manifest
    for env in ENVIRONMENTS:
        assert (
            "missing"
            not in (synth.outdir / f"assembly-SageStack-{env}" / "manifest.json").read_text()
        )


@pytest.mark.slow
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cfn_lint_finds_no_errors(synth: Synth, env: str) -> None:
    templates = sorted((synth.outdir / f"assembly-SageStack-{env}").glob("*.template.json"))
    assert len(templates) == len(ALL_STACK_IDS[env])
    problems = []
    for template in templates:
        for match in lint_file(template, config=ManualArgs(regions=["us-east-1"])):
            allowed = any(
                match.rule.id == rule and resource in str(match.message)
                for rule, resource in ALLOWED_WARNINGS
            )
            if match.rule.id.startswith("E") or not allowed:
                problems.append(f"{template.name}: {match.rule.id} {match.message}")
    assert problems == []


def test_summary_lists_stacks_resources_and_nag_per_pack(
    synth: Synth, capsys: pytest.CaptureFixture[str]
) -> None:
    assert summary.main([str(synth.outdir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{sum(map(len, ALL_STACK_IDS.values()))} stacks, ")
    assert "  SageStack-dev-Data: 16 resources" in out
    assert "        1  AWS::SageMaker::NotebookInstance" in out
    for pack in ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security"):
        assert f"  {pack:<16} PASS  0 unacknowledged" in out


def test_summary_rejects_a_directory_without_an_assembly(tmp_path: Path) -> None:
    assert summary.main([str(tmp_path)]) == 2
