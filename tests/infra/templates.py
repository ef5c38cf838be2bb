"""Reading synthesized templates: resources by type, a state machine's definition, and the
one snapshot normaliser for every stack."""

from __future__ import annotations

import json
import re
from typing import Any

_ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
# The dev box's logical id ends in a hash of its user data (user_data_causes_replacement), which
# embeds the SDK wheel's asset hash.
_USER_DATA_HASH = re.compile(r"\b(DevBox[0-9A-F]{8})[0-9a-f]{16}\b")


def normalize(template: dict[str, Any]) -> Any:
    """The template for a snapshot: asset hashes change with every edit of packaged code (the
    SDK wheel, the training and inference scripts); what points at them is what matters."""
    text = _ASSET_HASH.sub("<asset-hash>", json.dumps(template, sort_keys=True))
    return json.loads(_USER_DATA_HASH.sub(r"\1<user-data-hash>", text))


def definition_of(template: dict[str, Any], logical_id_prefix: str = "") -> dict[str, Any]:
    """The state machine's ASL as JSON, with each CloudFormation intrinsic inside the
    DefinitionString replaced by a readable placeholder such as ``${Ref:Bucket}``."""
    machines = [
        (lid, r)
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and lid.startswith(logical_id_prefix)
    ]
    assert len(machines) == 1, [lid for lid, _ in machines]
    definition = machines[0][1]["Properties"]["DefinitionString"]
    if isinstance(definition, str):
        return json.loads(definition)
    parts = definition["Fn::Join"][1]
    text = "".join(part if isinstance(part, str) else _placeholder(part) for part in parts)
    return json.loads(text)


def _placeholder(intrinsic: dict[str, Any]) -> str:
    ((fn, arg),) = intrinsic.items()
    if fn == "Ref":
        return f"${{Ref:{arg}}}"
    if fn == "Fn::GetAtt":
        return f"${{GetAtt:{arg[0]}.{arg[1]}}}"
    if fn == "Fn::ImportValue":
        return f"${{Import:{arg}}}"
    if fn == "Fn::FindInMap":
        return f"${{FindInMap:{arg[0]}}}"
    return "${" + fn + "}"


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == resource_type}
