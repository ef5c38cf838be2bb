"""Runs parliament (PyPI, duo-labs) over every IAM policy of a synthesized cloud assembly.

CloudFormation intrinsics are replaced by example values of the right shape first (an imported
bucket ARN becomes an S3 bucket ARN, a role's GetAtt Arn an IAM role ARN), because parliament
reads policy JSON, not templates. Findings come back as one line each:
``<env>/<stack>/<policy logical id>: <ISSUE> <detail>``, with generated hash suffixes of logical
ids cut, so a line stays stable across unrelated edits.

Run it by hand for a summary: ``python -m tests.infra.iam_analysis <cdk.out>``.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from parliament import analyze_policy_string

ACCOUNT = "123456789012"
REGION = "us-east-1"
_PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "stack",
}
_LOGICAL_HASH = re.compile(r"[0-9A-F]{8}(?=$|\.)")
# What a Ref or GetAtt Arn of a resource type stands for.
_ARN_OF_TYPE = {
    "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{{id}}",
    "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{id}}",
    "AWS::S3::Bucket": "arn:aws:s3:::{id}",
    "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{{id}}",
    "AWS::StepFunctions::StateMachine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{{id}}",
    "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{{id}}:*",
    "AWS::SageMaker::NotebookInstance": (
        f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/{{id}}"
    ),
    "AWS::EC2::VPC": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/{{id}}",
}
# Imported exports, by the end of their name.
_ARN_OF_EXPORT = (
    ("bucket-arn", "arn:aws:s3:::{id}"),
    ("key-arn", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{{id}}"),
    ("domain-arn", f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:domain/{{id}}"),
    ("repository-arn", f"arn:aws:codeartifact:{REGION}:{ACCOUNT}:repository/{{id}}/pypi"),
    ("role-arn", f"arn:aws:iam::{ACCOUNT}:role/{{id}}"),
)


def _value(node: Any, resources: dict[str, Any]) -> Any:
    """`node` with every intrinsic replaced by an example value of its kind."""
    if isinstance(node, list):
        return [_value(item, resources) for item in node]
    if not isinstance(node, dict):
        return node
    if len(node) == 1:
        ((fn, arg),) = node.items()
        if fn == "Ref":
            if arg in _PSEUDO:
                return _PSEUDO[arg]
            kind = resources.get(arg, {}).get("Type", "")
            return _ARN_OF_TYPE.get(kind, "{id}").format(id=arg.lower())
        if fn == "Fn::GetAtt":
            logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
            kind = resources.get(logical, {}).get("Type", "")
            if attribute.endswith("Arn") and kind in _ARN_OF_TYPE:
                return _ARN_OF_TYPE[kind].format(id=logical.lower())
            return f"{logical.lower()}-{attribute.lower()}"
        if fn == "Fn::Join":
            separator, parts = arg
            return separator.join(str(_value(part, resources)) for part in parts)
        if fn == "Fn::ImportValue":
            name = _value(arg, resources)
            for suffix, arn in _ARN_OF_EXPORT:
                if name.endswith(suffix):
                    return arn.format(id=name)
            if "Role" in name and name.endswith("Arn" + name.rsplit("Arn", 1)[-1]):
                # CDK's generated export of a role ARN (ExportsOutputFnGetAtt...Role...Arn...).
                return f"arn:aws:iam::{ACCOUNT}:role/{name.rsplit(':', 1)[-1].lower()}"
            return name
        if fn == "Fn::FindInMap":
            mapping, first, second = (_value(part, resources) for part in arg)
            return resources["__mappings__"][mapping][first][second]
        if fn == "Fn::Select":
            index, items = arg
            return _value(items, resources)[int(index)]
        if fn == "Fn::Split":
            separator, text = arg
            return str(_value(text, resources)).split(separator)
        if fn == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: _PSEUDO.get(m[1], m[1]), arg)
    return {key: _value(value, resources) for key, value in node.items()}


def policy_documents(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(name, document) of every identity policy: IAM policies, managed policies, role inline
    policies."""
    resources = template.get("Resources", {})
    documents = []
    for logical_id, resource in sorted(resources.items()):
        properties = resource.get("Properties", {})
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append((logical_id, properties["PolicyDocument"]))
        elif resource["Type"] == "AWS::IAM::Role":
            for inline in properties.get("Policies", []):
                documents.append((f"{logical_id}.{inline['PolicyName']}", inline["PolicyDocument"]))
    context = {**resources, "__mappings__": template.get("Mappings", {})}
    return [(name, _value(document, context)) for name, document in documents]


def _templates(outdir: Path) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for stage_dir in sorted(outdir.glob("assembly-SageStack-*")):
        env = stage_dir.name.removeprefix("assembly-SageStack-")
        for path in sorted(stage_dir.glob("*.template.json")):
            # SageStack<env><StackId><8 hex>.template.json
            stack = _LOGICAL_HASH.sub("", path.name.removesuffix(".template.json"))
            stack = stack.removeprefix(f"SageStack{env}")
            found.append((env, stack, json.loads(path.read_text())))
    return found


def findings(outdir: Path) -> list[str]:
    """Every parliament finding over every policy of every environment, one line each."""
    lines = set()
    for env, stack, template in _templates(outdir):
        for name, document in policy_documents(template):
            policy = analyze_policy_string(json.dumps(document), include_community_auditors=True)
            short = _LOGICAL_HASH.sub("", name)
            for finding in policy.findings:
                # Some issues say what in their location only (the actions concerned).
                actions = (finding.location or {}).get("actions")
                detail = json.dumps(finding.detail or sorted(actions or []), sort_keys=True)
                lines.add(f"{env}/{stack}/{short}: {finding.issue} {detail}")
    return sorted(lines)


def summary(lines: list[str]) -> Counter[str]:
    """Findings counted by parliament issue."""
    return Counter(line.split(": ", 1)[1].split(" ", 1)[0] for line in lines)


if __name__ == "__main__":
    result = findings(Path(sys.argv[1]))
    print("\n".join(result))
    print(dict(sorted(summary(result).items())), f"total {len(result)}")
