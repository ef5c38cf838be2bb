"""Iam stack: one role per job kind, scoped grants, no managed full-access policies."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.nag import NO_RESOURCE_LEVEL_ACTIONS, flatten_reference

from .conftest import ENVIRONMENTS, STACK_IDS, Synth

ROLE_PRINCIPALS = {
    "TrainingRole": "sagemaker.amazonaws.com",
    "ModelRole": "sagemaker.amazonaws.com",
    "NotebookRole": "sagemaker.amazonaws.com",
}


def _role_id(synth: Synth, env: str, name: str) -> str:
    roles = synth.resources(env, "Iam", "AWS::IAM::Role")
    (logical_id,) = [k for k in roles if k.startswith(f"JobRoles{name}")]
    return logical_id


def _statements(synth: Synth, env: str, role: str) -> list[dict[str, Any]]:
    """The statements of every policy of the Iam stack attached to `role` (its DefaultPolicy
    and, for the notebook, the SageMaker managed policy)."""
    role_id = _role_id(synth, env, role)
    statements = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in synth.resources(env, "Iam", kind).values():
            if policy["Properties"].get("Roles") == [{"Ref": role_id}]:
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements, f"no policy for {role}"
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return actions if isinstance(actions, list) else [actions]


def _resources(statement: dict[str, Any]) -> list[str]:
    resources = statement["Resource"]
    resources = resources if isinstance(resources, list) else [resources]
    return [flatten_reference(r) for r in resources]


@pytest.mark.parametrize(("role", "principal"), ROLE_PRINCIPALS.items())
def test_one_role_per_job_kind(synth: Synth, role: str, principal: str) -> None:
    role_props = synth.resources("dev", "Iam", "AWS::IAM::Role")[_role_id(synth, "dev", role)]
    statement = role_props["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    # Confused-deputy protection: only the service acting for this account.
    assert statement == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_managed_policies_and_no_physical_role_names(synth: Synth, env: str) -> None:
    for stack_id in STACK_IDS:
        for role in synth.resources(env, stack_id, "AWS::IAM::Role").values():
            arns = str(role["Properties"].get("ManagedPolicyArns", []))
            assert "AmazonSageMakerFullAccess" not in arns
            if stack_id != "Network":  # the default-SG custom resource uses Lambda's basic role
                assert "ManagedPolicyArns" not in role["Properties"]
            assert "RoleName" not in role["Properties"]


@pytest.mark.parametrize("role", ROLE_PRINCIPALS)
def test_star_resources_only_for_actions_without_resource_types(synth: Synth, role: str) -> None:
    for statement in _statements(synth, "dev", role):
        if "*" in _resources(statement) and statement["Effect"] == "Allow":
            assert set(_actions(statement)) <= NO_RESOURCE_LEVEL_ACTIONS, statement


def test_training_role_reads_data_and_writes_only_its_prefix(synth: Synth) -> None:
    statements = _statements(synth, "dev", "TrainingRole")
    writes = [s for s in statements if "s3:PutObject" in _actions(s)]
    objects = {r for s in writes for r in _resources(s) if "/" in r}
    assert objects == {"sagestack-dev-artifacts-bucket-arn/training/*"}
    reads = [s for s in statements if {"s3:GetObject", "s3:ListBucket"} & set(_actions(s))]
    read_resources = {r for s in reads for r in _resources(s)}
    assert read_resources == {
        "sagestack-dev-data-bucket-arn",
        "sagestack-dev-data-bucket-arn/*",
        "sagestack-dev-artifacts-bucket-arn",
        "sagestack-dev-artifacts-bucket-arn/*",
    }


def test_model_role_writes_only_capture_and_transform_prefixes(synth: Synth) -> None:
    writes = [s for s in _statements(synth, "dev", "ModelRole") if "s3:PutObject" in _actions(s)]
    assert sorted(r for s in writes for r in _resources(s) if "/" in r) == [
        "sagestack-dev-artifacts-bucket-arn/batch-transform/*",
        "sagestack-dev-artifacts-bucket-arn/data-capture/*",
    ]


@pytest.mark.parametrize("role", ["TrainingRole", "ModelRole"])
def test_job_roles_pull_only_the_xgboost_repository(synth: Synth, role: str) -> None:
    pulls = [s for s in _statements(synth, "dev", role) if "ecr:BatchGetImage" in _actions(s)]
    (resource,) = [r for s in pulls for r in _resources(s)]
    assert resource.endswith(":repository/sagemaker-xgboost")
    mappings = synth.template_json("dev", "Iam")["Mappings"]
    scope = "Training" if role == "TrainingRole" else "Inference"
    assert mappings[f"Xgboost{scope}Registry"]["us-east-1"] == {"account": "683313688378"}


def test_kms_grants_are_limited_to_aws_resources(synth: Synth) -> None:
    grants = [
        s for s in _statements(synth, "dev", "TrainingRole") if "kms:CreateGrant" in _actions(s)
    ]
    assert grants and all(
        s["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}} for s in grants
    )


@pytest.mark.parametrize(("role", "passes"), [("NotebookRole", 2)])
def test_pass_role_only_to_sagemaker(synth: Synth, role: str, passes: int) -> None:
    (statement,) = [s for s in _statements(synth, "dev", role) if "iam:PassRole" in _actions(s)]
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    assert len(_resources(statement)) == passes
    assert all("*" not in r for r in _resources(statement))


def test_no_orchestration_role(synth: Synth) -> None:
    """The state machines run with their own CDK roles; an unused role is only attack surface."""
    roles = synth.resources("dev", "Iam", "AWS::IAM::Role")
    assert not [k for k in roles if "Orchestration" in k]


def test_notebook_reads_only_its_environment_parameters(synth: Synth) -> None:
    statements = _statements(synth, "dev", "NotebookRole")
    (ssm,) = [s for s in statements if "ssm:GetParametersByPath" in _actions(s)]
    assert [r.split(":parameter/")[1] for r in _resources(ssm)] == [
        "sagestack/dev",
        "sagestack/dev/*",
    ]


@pytest.mark.parametrize("name", ["training", "model", "notebook"])
def test_role_arns_are_discoverable(synth: Synth, name: str) -> None:
    synth.template("dev", "Iam").has_resource_properties(
        "AWS::SSM::Parameter",
        {
            "Name": f"/sagestack/dev/{name}-role-arn",
            "Value": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
        },
    )


def test_notebook_role_can_start_and_follow_training_runs(synth: Synth) -> None:
    """The SDK's fit(ml.*) starts the Training stack's state machine from the notebook."""
    statements = _statements(synth, "dev", "NotebookRole")
    actions = {a for s in statements for a in _actions(s)}
    assert {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:GetExecutionHistory",
        "sagemaker:DescribeModelPackage",
    } <= actions
    (start,) = [s for s in statements if "states:StartExecution" in _actions(s)]
    # This environment's state machines by name, never stateMachine:* of the account.
    assert sorted(r.rsplit(":", 1)[1] for r in _resources(start)) == [
        "sagestack-dev-batch-transform",
        "sagestack-dev-training",
    ]
