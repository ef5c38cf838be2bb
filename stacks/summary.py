"""Summarizes a synthesized cloud assembly: stacks, resource counts per type, cdk-nag per pack."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Kept literal (not imported from stacks.nag) so the summary runs without loading the CDK.
NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")
VALIDATION_REPORT = "validation-report.json"


@dataclass(frozen=True, kw_only=True)
class StackSummary:
    name: str
    """The CloudFormation stack name, e.g. SageStack-dev-Data."""
    resource_counts: dict[str, int]
    """Resources per CloudFormation type, sorted by type."""

    @property
    def total(self) -> int:
        return sum(self.resource_counts.values())


@dataclass(kw_only=True)
class PackResult:
    unacknowledged: int = 0
    """Findings (rule x resource) that fail or warn: must be zero."""
    acknowledged: int = 0
    """Findings acknowledged on their resource, with a reason, in validation-report.json."""
    rules: set[str] = field(default_factory=set)
    """Distinct acknowledged rule ids (without the per-finding suffix)."""


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def iter_stacks(assembly_dir: Path) -> Iterator[StackSummary]:
    """Every stack of the assembly, nested Stage assemblies included, in manifest order."""
    manifest = _read_json(assembly_dir / "manifest.json")
    for artifact_id, artifact in manifest.get("artifacts", {}).items():
        properties = artifact.get("properties", {})
        if artifact["type"] == "cdk:cloud-assembly":
            yield from iter_stacks(assembly_dir / properties["directoryName"])
        elif artifact["type"] == "aws:cloudformation:stack":
            template = _read_json(assembly_dir / properties["templateFile"])
            counts = Counter(r["Type"] for r in template.get("Resources", {}).values())
            yield StackSummary(
                name=properties.get("stackName", artifact_id),
                resource_counts=dict(sorted(counts.items())),
            )


def nag_results(assembly_dir: Path) -> dict[str, PackResult]:
    """Findings per plugin from CDK's validation report (packs without findings are left out
    of the report by CDK, so every expected pack starts at zero)."""
    report = _read_json(assembly_dir / VALIDATION_REPORT)
    results = {pack: PackResult() for pack in NAG_PACKS}
    for plugin in report.get("pluginReports", []):
        result = results.setdefault(plugin["pluginName"], PackResult())
        for violation in plugin.get("violations", []):
            result.unacknowledged += len(violation.get("violatingConstructs", []))
        for suppressed in plugin.get("suppressedViolations") or []:
            result.acknowledged += len(suppressed.get("violatingConstructs", []))
            result.rules.add(suppressed["ruleName"].split("[")[0])
    return results


def render(stacks: Sequence[StackSummary], nag: dict[str, PackResult] | None) -> str:
    lines = [f"{len(stacks)} stacks, {sum(s.total for s in stacks)} resources"]
    for stack in stacks:
        lines.append(f"  {stack.name}: {stack.total} resources")
        lines.extend(f"      {count:3d}  {kind}" for kind, count in stack.resource_counts.items())
    if nag is None:
        lines.append(f"cdk-nag: no {VALIDATION_REPORT} in the assembly (nag did not run)")
        return "\n".join(lines)
    lines.append("cdk-nag (packs run inside each Stage):")
    for pack, result in nag.items():
        verdict = "PASS" if result.unacknowledged == 0 else "FAIL"
        lines.append(
            f"  {pack:<16} {verdict}  {result.unacknowledged} unacknowledged, "
            f"{result.acknowledged} acknowledged ({len(result.rules)} rules)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly directory")
    args, _ = parser.parse_known_args(argv)
    assembly = Path(args.assembly)
    if not (assembly / "manifest.json").is_file():
        print(f"{assembly}: not a cloud assembly (no manifest.json); run `cdk synth` first")
        return 2
    stacks = list(iter_stacks(assembly))
    nag = nag_results(assembly) if (assembly / VALIDATION_REPORT).is_file() else None
    print(render(stacks, nag))
    failed = nag is None or any(r.unacknowledged for r in nag.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
