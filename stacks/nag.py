"""cdk-nag packs run inside each Stage, and the one way this project acknowledges a finding."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Stack, Stage, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks
from constructs import IConstruct, IValidation

NAG_PACKS = ("AwsSolutions", "NIST.800.53.R5", "HIPAA.Security")
"""Pack names as they prefix rule ids and name the plugins in validation-report.json."""


def add_nag_packs(stage: Stage) -> None:
    """Registers the three packs as validation plugins of `stage`.

    Every Stage adds its own packs, so the checks travel with the unit that is deployed. cdk-nag 3
    walks the tree from the app root whatever Stage registered it; `_stage_scoped` narrows each
    pack to its Stage so a finding is reported once, by the Stage that owns the resource.
    """
    packs: list[NagPack] = [
        _stage_scoped(AwsSolutionsChecks, stage),
        _stage_scoped(NIST80053R5Checks, stage),
        _stage_scoped(HIPAASecurityChecks, stage),
    ]
    Validations.of(stage).add_plugins(*packs)


def _stage_scoped(pack_class: type[NagPack], stage: Stage) -> NagPack:
    class StageScopedPack(pack_class):  # type: ignore[valid-type, misc]
        def validate(self, context):  # type: ignore[no-untyped-def]
            return self.validate_scope(stage)

    return StageScopedPack()  # type: ignore[no-any-return]


def acknowledge(construct: IConstruct, finding_id: str, reason: str) -> None:
    """Acknowledges exactly one finding (`Pack-Rule` or `Pack-Rule[finding]`) on `construct`.

    The id is qualified with its pack's namespace (`AwsSolutions::AwsSolutions-S1`): cdk-nag then
    still reports the finding and CDK files it, with this reason, under `suppressedViolations` in
    validation-report.json, an audit trail instead of a silent skip. The reason states evidence.
    """
    pack = next((p for p in NAG_PACKS if finding_id.startswith(f"{p}-")), None)
    if pack is None:
        raise ValueError(
            f"finding {finding_id!r} does not start with one of {', '.join(NAG_PACKS)}"
        )
    qualified = f"{pack}::{finding_id}"
    Validations.of(construct).acknowledge(Acknowledgment(id=qualified, reason=reason))


def acknowledge_nist_hipaa(construct: IConstruct, rule: str, reason: str) -> None:
    """Acknowledges `rule` (e.g. `IAMNoInlinePolicy`) in both packs that share its name."""
    for pack in ("NIST.800.53.R5", "HIPAA.Security"):
        acknowledge(construct, f"{pack}-{rule}", reason)


# Actions the Service Authorization Reference lists with no resource types: `Resource: "*"` is
# the only form IAM accepts for them, so a `*` resource on these is not a choice.
NO_RESOURCE_LEVEL_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "sagemaker:ListEndpoints",
        "sagemaker:ListTrainingJobs",
        "sagemaker:ListModelPackages",
        "cloudwatch:PutMetricData",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeVpcs",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        # Conditioned on sts:AWSServiceName wherever granted (CodeArtifact's login token).
        "sts:GetServiceBearerToken",
    }
)


def flatten_reference(value: Any) -> str:
    """Renders a resolved CloudFormation value the way cdk-nag names it in finding ids.

    Plain strings stay as they are (`${X}` becomes `<X>`), Fn::Join joins, Ref becomes `<Name>`,
    Fn::GetAtt becomes `<Name.Attr>` and Fn::ImportValue becomes the export name.
    """
    if isinstance(value, str):
        return value.replace("${", "<").replace("}", ">")
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Fn::Join":
            delimiter, parts = argument
            return str(delimiter).join(flatten_reference(part) for part in parts)
        if function == "Fn::Sub":
            return flatten_reference(argument)
        if function == "Ref":
            return f"<{flatten_reference(argument)}>"
        if function == "Fn::GetAtt":
            resource, attribute = argument
            return f"<{flatten_reference(resource)}.{flatten_reference(attribute)}>"
        if function == "Fn::ImportValue":
            return flatten_reference(argument)
    return json.dumps(value, separators=(",", ":"))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def acknowledge_wildcards(
    policy: IConstruct, document: Any, evidence: Sequence[tuple[str, str]]
) -> None:
    """Acknowledges each AwsSolutions-IAM5 finding of one policy, each with its own evidence.

    `document` is the policy's resolved JSON. `evidence` pairs a regular expression over finding
    ids (`Action::s3:GetObject*`, `Resource::arn:...:training-job/*`) with the reason that holds
    for every id it matches. `Resource::*` is acknowledged only when every action granted on
    `*` is in NO_RESOURCE_LEVEL_ACTIONS. A wildcard without evidence fails the synth here, with
    its name, rather than as an anonymous nag error later.
    """
    findings: dict[str, str] = {}
    star_actions: set[str] = set()
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        resources = [flatten_reference(r) for r in _as_list(statement.get("Resource", []))]
        for finding in [f"Action::{a}" for a in actions if "*" in a] + [
            f"Resource::{r}" for r in resources if "*" in r
        ]:
            if finding == "Resource::*":
                star_actions.update(actions)
                continue
            reason = next(
                (why for pattern, why in evidence if re.fullmatch(pattern, finding)), None
            )
            if reason is None:
                raise ValueError(f"{policy.node.path}: no evidence for wildcard {finding!r}")
            findings[finding] = reason
    if star_actions:
        scoped = sorted(star_actions - NO_RESOURCE_LEVEL_ACTIONS)
        if scoped:
            raise ValueError(f"{policy.node.path}: {', '.join(scoped)} granted on '*'")
        findings["Resource::*"] = (
            f"Only {', '.join(sorted(star_actions))} use Resource '*': the Service Authorization "
            "Reference lists no resource types for these actions."
        )
    for finding, reason in sorted(findings.items()):
        acknowledge(policy, f"AwsSolutions-IAM5[{finding}]", reason)


@jsii.implements(IValidation)
class _WildcardAcknowledger:
    """Acknowledges AwsSolutions-IAM5 resource findings once references are final.

    Finding IDs embed the resolved ARN, which for a bucket in another stack is only known
    after CDK turns the reference into an import; construct validations run after that step
    and before the validation plugins, so the IDs computed here match cdk-nag's exactly.
    """

    def __init__(self, policy: iam.ManagedPolicy, reasons_by_sid: dict[str, str]) -> None:
        self._policy = policy
        self._reasons = reasons_by_sid

    def validate(self) -> list[str]:
        cfn = self._policy.node.default_child
        document = Stack.of(self._policy).resolve(cfn.policy_document)  # type: ignore[union-attr]
        for statement in document.get("Statement", []):
            reason = self._reasons.get(statement.get("Sid", ""))
            if reason is None or statement.get("Effect") != "Allow":
                continue
            resources = statement.get("Resource", [])
            for resource in resources if isinstance(resources, list) else [resources]:
                flat = flatten_reference(resource)
                if "*" in flat:
                    acknowledge(self._policy, f"AwsSolutions-IAM5[Resource::{flat}]", reason)
        return []


def acknowledge_wildcard_resources(
    policy: iam.ManagedPolicy, reasons_by_sid: dict[str, str]
) -> None:
    """Acknowledge the IAM5 wildcard-resource findings of the statements named by Sid.

    Unlike `acknowledge_wildcards`, this waits for the final document: use it for a policy whose
    resources reference another stack.
    """
    policy.node.add_validation(_WildcardAcknowledger(policy, reasons_by_sid))
