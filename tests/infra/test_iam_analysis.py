"""parliament (duo-labs, PyPI) over every IAM policy of every synthesized environment: each
remaining finding is listed here once, with the reason it stays; a new one fails the test.

Before issue 17's changes the same run found 54 (CREDENTIALS_EXPOSURE 6,
PERMISSIONS_MANAGEMENT_ACTIONS 17, RESOURCE_MISMATCH 27, UNKNOWN_CONDITION_FOR_ACTION 4); the
last one was a real defect (kms:DescribeKey under a CreateGrant-only condition, never allowed).
"""

from __future__ import annotations

import re

from .conftest import Synth
from .iam_analysis import findings

PASS_ROLE = (
    "iam:PassRole of the training and model roles only, conditioned on iam:PassedToService "
    "sagemaker.amazonaws.com: SageMaker runs jobs and models with a role the caller passes."
)
CREATE_GRANT = (
    "kms:CreateGrant on the data key only, conditioned on kms:GrantIsForAWSResource: SageMaker "
    "encrypts job and endpoint volumes through grants made on the caller's behalf."
)
ENI_PERMISSION = (
    "ec2:CreateNetworkInterfacePermission, conditioned on ec2:Vpc (this VPC): SageMaker attaches "
    "the job's interfaces in our subnets with the execution role."
)
LOG_DELIVERY = (
    "logs:PutResourcePolicy: CDK's Step Functions log delivery to a /aws/vendedlogs/ group; the "
    "action has no resource type (Service Authorization Reference)."
)
ACCEPTED: dict[str, str] = {
    'DevEnvironment/DevBoxRoleDefaultPolicy: PERMISSIONS_MANAGEMENT_ACTIONS ["iam:passrole"]': (
        PASS_ROLE
    ),
    'Iam/JobRolesNotebookRoleDefaultPolicy: PERMISSIONS_MANAGEMENT_ACTIONS ["ec2:createnetwork'
    'interfacepermission", "iam:passrole", "kms:creategrant"]': (
        f"{PASS_ROLE} {CREATE_GRANT} {ENI_PERMISSION}"
    ),
    'Iam/JobRolesModelRoleDefaultPolicy: PERMISSIONS_MANAGEMENT_ACTIONS ["ec2:createnetwork'
    'interfacepermission", "kms:creategrant"]': f"{CREATE_GRANT} {ENI_PERMISSION}",
    'Iam/JobRolesTrainingRoleDefaultPolicy: PERMISSIONS_MANAGEMENT_ACTIONS ["ec2:createnetwork'
    'interfacepermission", "kms:creategrant"]': f"{CREATE_GRANT} {ENI_PERMISSION}",
    'Iam/JobRolesModelRoleDefaultPolicy: CREDENTIALS_EXPOSURE ["ecr:getauthorizationtoken"]': (
        "ecr:GetAuthorizationToken: the image pull's login; it has no resource type, and the "
        "pull itself is limited to the XGBoost repository."
    ),
    'Iam/JobRolesTrainingRoleDefaultPolicy: CREDENTIALS_EXPOSURE ["ecr:getauthorizationtoken"]': (
        "ecr:GetAuthorizationToken, as for the model role."
    ),
    "Serving/EndpointBatchTransformStateMachineRoleDefaultPolicy: PERMISSIONS_MANAGEMENT_ACTIONS "
    '["kms:creategrant", "logs:putresourcepolicy"]': f"{CREATE_GRANT} {LOG_DELIVERY}",
    "Training/TrainingJobStateMachineRoleDefaultPolicy: PERMISSIONS_MANAGEMENT_ACTIONS "
    '["iam:passrole", "kms:creategrant", "logs:putresourcepolicy"]': (
        f"{PASS_ROLE} {CREATE_GRANT} {LOG_DELIVERY}"
    ),
    'Iam/JobRoles(Notebook|Model|Training)RoleDefaultPolicy: RESOURCE_MISMATCH \\[\\{"action": '
    '"ec2:CreateNetworkInterface", "required_format": "arn:\\*:ec2:\\*:\\*:subnet/\\*"\\}\\]': (
        "parliament wants every resource of a CreateNetworkInterface statement to be a subnet; "
        "the action authorizes the subnet, the security group and the new interface, so the "
        "statement names all three (SageMaker developer guide)."
    ),
    "(Iam/JobRolesNotebookRole|DevEnvironment/DevBoxRole)DefaultPolicy: RESOURCE_MISMATCH "
    '\\[\\{"action": "states:(DescribeExecution|ListExecutions)", "required_format": .*\\]': (
        "parliament compares the execution ARNs with the express-execution and map-run "
        "formats; these are standard executions of this environment's named state machines."
    ),
}
"""Finding line (a regular expression for the two generic ones) -> why it stays."""


def _accepted(line: str) -> str | None:
    for pattern, reason in ACCEPTED.items():
        if line == pattern or re.fullmatch(pattern, line):
            return reason
    return None


def test_every_parliament_finding_is_listed_with_its_reason(synth: Synth) -> None:
    lines = {line.split("/", 1)[1] for line in findings(synth.outdir)}  # one entry per env
    unlisted = sorted(line for line in lines if _accepted(line) is None)
    assert not unlisted, "new IAM findings:\n" + "\n".join(unlisted)
    stale = [p for p in ACCEPTED if not any(p == line or re.fullmatch(p, line) for line in lines)]
    assert not stale, f"listed findings that no longer occur: {stale}"
