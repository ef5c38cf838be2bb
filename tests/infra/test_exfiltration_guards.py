"""The exfiltration guards in every environment's templates: conditioned SageMaker creates,
environment scoping, model artifacts only the training role writes, endpoint and bucket
policies, confused-deputy conditions, network isolation (issue 17, issue 13's last section)."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.nag import flatten_reference

from .conftest import ENVIRONMENTS, Synth

TAG = "sagestack:environment"
# The volume grants (CreateGrant for AWS resources, DescribeKey) carry their own conditions.
VOLUME_GRANT_ACTIONS = {"kms:CreateGrant", "kms:DescribeKey"}
WORKBENCHES = [(env, "Iam", "JobRolesNotebookRole") for env in ENVIRONMENTS] + [
    ("dev", "DevEnvironment", "DevBoxRole")  # only dev has the EC2 dev box
]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(synth: Synth, env: str, stack: str, role_prefix: str) -> list[dict[str, Any]]:
    """Every statement of the policies (inline and managed) of `stack` attached to the role."""
    roles = synth.resources(env, stack, "AWS::IAM::Role")
    (role_id,) = [k for k in roles if k.startswith(role_prefix) and "Policy" not in k]
    statements: list[dict[str, Any]] = []
    for kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        for policy in synth.resources(env, stack, kind).values():
            if {"Ref": role_id} in policy["Properties"].get("Roles", []):
                statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _with_action(statements: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in statements if action in _as_list(s["Action"])]


def _allow(statements: list[dict[str, Any]], action: str) -> dict[str, Any]:
    (statement,) = [s for s in _with_action(statements, action) if s["Effect"] == "Allow"]
    return statement


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_training_job_creates_require_vpc_isolation_encryption_key_and_tag(
    synth: Synth, env: str, stack: str, role: str
) -> None:
    """Item 1: a CreateTrainingJob without VpcConfig, isolation or the data key is refused."""
    statement = _allow(_role_statements(synth, env, stack, role), "sagemaker:CreateTrainingJob")
    condition = statement["Condition"]
    subnets = condition["ForAllValues:StringEquals"]["sagemaker:VpcSubnets"]
    assert len(subnets) == synth.configs[env].network.max_azs
    assert all("Subnet" in flatten_reference(s) for s in subnets)
    (group,) = condition["ForAllValues:StringEquals"]["sagemaker:VpcSecurityGroupIds"]
    assert "WorkloadSecurityGroup" in flatten_reference(group)
    # ForAllValues is true when the key is missing: Null false demands a VpcConfig.
    assert condition["Null"] == {
        "sagemaker:VpcSubnets": "false",
        "sagemaker:VpcSecurityGroupIds": "false",
    }
    assert condition["Bool"] == {
        "sagemaker:NetworkIsolation": "true",
        "sagemaker:InterContainerTrafficEncryption": "true",
    }
    key = {"Fn::ImportValue": f"sagestack-{env}-data-key-arn"}
    assert condition["ArnEquals"] == {"sagemaker:VolumeKmsKey": key, "sagemaker:OutputKmsKey": key}
    assert condition["StringEquals"] == {f"aws:RequestTag/{TAG}": env}


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_model_config_endpoint_and_transform_creates_are_conditioned(
    synth: Synth, env: str, stack: str, role: str
) -> None:
    statements = _role_statements(synth, env, stack, role)
    key = {"Fn::ImportValue": f"sagestack-{env}-data-key-arn"}
    model = _allow(statements, "sagemaker:CreateModel")["Condition"]
    assert model["Bool"] == {"sagemaker:NetworkIsolation": "true"}
    assert set(model["ForAllValues:StringEquals"]) == {
        "sagemaker:VpcSubnets",
        "sagemaker:VpcSecurityGroupIds",
    }
    assert model["Null"] == {
        "sagemaker:VpcSubnets": "false",
        "sagemaker:VpcSecurityGroupIds": "false",
    }
    config = _allow(statements, "sagemaker:CreateEndpointConfig")["Condition"]
    assert config["ArnEquals"] == {"sagemaker:VolumeKmsKey": key}
    transform = _allow(statements, "sagemaker:CreateTransformJob")["Condition"]
    assert transform["ArnEquals"] == {"sagemaker:VolumeKmsKey": key, "sagemaker:OutputKmsKey": key}
    for action in (
        "sagemaker:CreateModel",
        "sagemaker:CreateEndpointConfig",
        "sagemaker:CreateEndpoint",
        "sagemaker:CreateTransformJob",
        "sagemaker:AddTags",
    ):
        condition = _allow(statements, action)["Condition"]
        assert condition["StringEquals"] == {f"aws:RequestTag/{TAG}": env}, action


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_changes_and_invocations_only_on_this_environments_resources(
    synth: Synth, env: str, stack: str, role: str
) -> None:
    """Item 3: update, delete, invoke and stop carry aws:ResourceTag of this environment."""
    statements = _role_statements(synth, env, stack, role)
    for action in (
        "sagemaker:UpdateEndpoint",
        "sagemaker:DeleteEndpoint",
        "sagemaker:InvokeEndpoint",
        "sagemaker:DeleteEndpointConfig",
        "sagemaker:DeleteModel",
        "sagemaker:StopTrainingJob",
        "sagemaker:StopTransformJob",
    ):
        assert _allow(statements, action)["Condition"] == {
            "StringEquals": {f"aws:ResourceTag/{TAG}": env}
        }, action
    # Reads stay unconditioned (the console lists and describes what it shows).
    assert "Condition" not in _allow(statements, "sagemaker:DescribeEndpoint")


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_the_environment_tag_cannot_be_changed_or_removed(
    synth: Synth, env: str, stack: str, role: str
) -> None:
    denies = {
        s["Sid"]: s for s in _role_statements(synth, env, stack, role) if s["Effect"] == "Deny"
    }
    other = denies["NoTaggingOfOtherEnvironments"]
    assert set(other["Action"]) == {"sagemaker:AddTags", "sagemaker:DeleteTags"}
    assert other["Condition"] == {
        "Null": {f"aws:ResourceTag/{TAG}": "false"},
        "StringNotEquals": {f"aws:ResourceTag/{TAG}": env},
    }
    assert denies["NoRemovalOfTheEnvironmentTag"]["Condition"] == {
        "ForAnyValue:StringEquals": {"aws:TagKeys": [TAG]}
    }
    assert denies["NoTagNamingAnotherEnvironment"]["Condition"] == {
        "ForAnyValue:StringEquals": {"aws:TagKeys": [TAG]},
        "StringNotEquals": {f"aws:RequestTag/{TAG}": env},
    }


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_executions_only_of_this_environments_state_machines(
    synth: Synth, env: str, stack: str, role: str
) -> None:
    statements = _role_statements(synth, env, stack, role)
    start = _allow(statements, "states:StartExecution")
    assert sorted(flatten_reference(r).rsplit(":", 1)[1] for r in start["Resource"]) == [
        f"sagestack-{env}-batch-transform",
        f"sagestack-{env}-training",
    ]
    stop = _allow(statements, "states:StopExecution")
    assert sorted(flatten_reference(r).split(":execution:")[1] for r in stop["Resource"]) == [
        f"sagestack-{env}-batch-transform:*",
        f"sagestack-{env}-training:*",
    ]


def test_state_machines_carry_the_names_the_grants_use(synth: Synth) -> None:
    for env, stack, kind in [
        *((env, "Training", "training") for env in ENVIRONMENTS),
        ("test", "Serving", "batch-transform"),
    ]:
        machines = synth.resources(env, stack, "AWS::StepFunctions::StateMachine")
        names = [m["Properties"]["StateMachineName"] for m in machines.values()]
        assert names == [f"sagestack-{env}-{kind}"]


def test_jobs_the_state_machines_start_carry_the_environment_tag(synth: Synth) -> None:
    """Item 3: the workbench roles may stop only jobs tagged with their environment, so the jobs
    a state machine starts carry that tag (the console's and `sagestack` Stop act on them)."""
    for env, stack, task in [
        *((env, "Training", "CreateTrainingJob") for env in ENVIRONMENTS),
        ("test", "Serving", "CreateTransformJob"),
    ]:
        (machine,) = synth.resources(env, stack, "AWS::StepFunctions::StateMachine").values()
        # The definition is an Fn::Join of literal JSON and references; the literals suffice.
        _, parts = machine["Properties"]["DefinitionString"]["Fn::Join"]
        definition = "".join(part for part in parts if isinstance(part, str))
        assert task in definition
        environment_tag = f'{{"Key":"{TAG}","Value":"{env}"}}'
        assert definition.count(environment_tag) == 1, (env, stack)


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_people_write_only_the_sdk_prefixes_and_never_destroy_versions(
    synth: Synth, env: str, stack: str, role: str
) -> None:
    """Item 4: training/models/ (what endpoints serve) is the training role's alone."""
    statements = _role_statements(synth, env, stack, role)
    writes = [s for s in _with_action(statements, "s3:PutObject") if s["Effect"] == "Allow"]
    written = sorted(flatten_reference(r) for s in writes for r in _as_list(s["Resource"]))
    assert written == [
        f"sagestack-{env}-artifacts-bucket-arn/training/sdk/code/*",
        f"sagestack-{env}-artifacts-bucket-arn/training/sdk/models/*",
        f"sagestack-{env}-data-bucket-arn/*",
    ]
    granted = {a for s in statements if s["Effect"] == "Allow" for a in _as_list(s["Action"])}
    assert not {a for a in granted if a.startswith("s3:") and "*" in a}
    assert "s3:DeleteObjectVersion" not in granted
    (deny,) = _with_action(statements, "s3:DeleteObjectVersion")
    assert deny["Effect"] == "Deny" and len(deny["Resource"]) == 4


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_data_key_is_used_through_s3_only(synth: Synth, env: str) -> None:
    """Item 8: no role grant of the data key without kms:ViaService (besides volume grants)."""
    for role in ("JobRolesNotebookRole", "JobRolesTrainingRole", "JobRolesModelRole"):
        checked = 0
        for statement in _role_statements(synth, env, "Iam", role):
            actions = set(_as_list(statement["Action"]))
            key_use = {a for a in actions if a.startswith("kms:")} - VOLUME_GRANT_ACTIONS
            if key_use and statement["Effect"] == "Allow":
                checked += 1
                services = statement["Condition"]["StringEquals"]["kms:ViaService"]
                assert all(
                    flatten_reference(s).startswith(("s3.", "sagemaker.")) for s in services
                ), (role, statement)
        assert checked, f"{role}: no data-key statement checked"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_interface_changes_only_in_this_vpc(synth: Synth, env: str) -> None:
    for role in ("JobRolesNotebookRole", "JobRolesTrainingRole", "JobRolesModelRole"):
        statements = _role_statements(synth, env, "Iam", role)
        statement = _allow(statements, "ec2:DeleteNetworkInterface")
        vpc = flatten_reference(statement["Condition"]["ArnEquals"]["ec2:Vpc"])
        assert ":vpc/" in vpc and "Vpc" in vpc, vpc


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_sagemaker_roles_trust_only_this_account(synth: Synth, env: str) -> None:
    """Issue 13, confused-deputy protection: aws:SourceAccount on every SageMaker trust."""
    for role in synth.resources(env, "Iam", "AWS::IAM::Role").values():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Condition"] == {
            "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
        }


def test_state_machine_roles_trust_only_this_accounts_state_machines(synth: Synth) -> None:
    roles = synth.resources("test", "Serving", "AWS::IAM::Role")
    (trust,) = [
        r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
        for k, r in roles.items()
        if k.startswith("EndpointBatchTransformStateMachineRole")
    ]
    assert set(trust["Condition"]) == {"ArnLike", "StringEquals"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


@pytest.mark.parametrize(
    ("env", "stack"), [(e, "Training") for e in ENVIRONMENTS] + [("test", "Serving")]
)
def test_eventbridge_publishes_to_a_topic_only_from_its_rule(
    synth: Synth, env: str, stack: str
) -> None:
    rules = synth.resources(env, stack, "AWS::Events::Rule")
    policies = synth.resources(env, stack, "AWS::SNS::TopicPolicy").values()
    assert policies, "no topic policy to check"
    for policy in policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        (deny,) = [s for s in statements if s.get("Sid") == "EventBridgeOnlyFromItsRule"]
        assert deny["Effect"] == "Deny"
        assert deny["Principal"] == {"Service": "events.amazonaws.com"}
        source = deny["Condition"]["ArnNotEquals"]["aws:SourceArn"]["Fn::GetAtt"][0]
        assert source in rules


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_gateway_endpoint_reaches_this_account_and_the_needed_aws_buckets(
    synth: Synth, env: str
) -> None:
    """Item 2: no copy to another account's bucket through the gateway."""
    endpoints = synth.resources(env, "Network", "AWS::EC2::VPCEndpoint")
    (gateway,) = [e for e in endpoints.values() if e["Properties"]["VpcEndpointType"] == "Gateway"]
    statements = {s["Sid"]: s for s in gateway["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {"ThisAccountsBuckets", "AwsOwnedBuckets"}
    account = {"Ref": "AWS::AccountId"}
    assert statements["ThisAccountsBuckets"]["Condition"] == {
        "StringEquals": {"aws:ResourceAccount": account, "aws:PrincipalAccount": account}
    }
    owned = statements["AwsOwnedBuckets"]
    assert owned["Action"] == "s3:GetObject"
    assert sorted(flatten_reference(r) for r in owned["Resource"]) == [
        "arn:<AWS::Partition>:s3:::al2023-repos-<AWS::Region>-de612dc2/*",
        "arn:<AWS::Partition>:s3:::prod-<AWS::Region>-starport-layer-bucket/*",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_interface_endpoints_accept_only_this_accounts_principals(synth: Synth, env: str) -> None:
    endpoints = synth.resources(env, "Network", "AWS::EC2::VPCEndpoint")
    interfaces = [
        e for e in endpoints.values() if e["Properties"]["VpcEndpointType"] == "Interface"
    ]
    assert len(interfaces) >= 10
    for endpoint in interfaces:
        (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Condition"] == {
            "StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize("bucket", ["DataBucket", "ArtifactsBucket"])
def test_buckets_refuse_people_outside_their_vpc_and_other_keys(
    synth: Synth, env: str, bucket: str
) -> None:
    policies = synth.resources(env, "Data", "AWS::S3::BucketPolicy")
    (policy,) = [p for k, p in policies.items() if k.startswith(f"{bucket}Policy")]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    vpc = statements["PeopleOnlyFromTheirVpc"]
    assert vpc["Effect"] == "Deny"
    assert vpc["Condition"] == {
        "Null": {"aws:PrincipalTag/sagestack:vpc": "false"},
        "StringNotEqualsIfExists": {"aws:SourceVpc": "${aws:PrincipalTag/sagestack:vpc}"},
        "Bool": {"aws:ViaAWSService": "false"},
    }
    key = statements["OnlyTheDataKey"]["Condition"]
    assert key["Null"] == {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"}
    assert statements["OnlySseKms"]["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption": "aws:kms"
    }


@pytest.mark.parametrize(("env", "stack", "role"), WORKBENCHES)
def test_people_roles_carry_their_vpc(synth: Synth, env: str, stack: str, role: str) -> None:
    roles = synth.resources(env, stack, "AWS::IAM::Role")
    (props,) = [r["Properties"] for k, r in roles.items() if k.startswith(role)]
    tags = {t["Key"]: t["Value"] for t in props["Tags"]}
    assert "Vpc" in flatten_reference(tags["sagestack:vpc"])
    # The environment tag comes with the stack's tags, which CloudFormation puts on every
    # resource that takes tags (state machines and endpoints included).
    assert synth.stack_properties(env, stack)["tags"][TAG] == env


def _https_egress(synth: Synth, env: str, stack: str, group_prefix: str) -> list[dict[str, Any]]:
    """The group's egress rules on 443, inline and as separate SecurityGroupEgress resources."""
    groups = synth.resources(env, stack, "AWS::EC2::SecurityGroup")
    (group_id,) = [k for k in groups if k.startswith(group_prefix)]
    rules = list(groups[group_id]["Properties"].get("SecurityGroupEgress", []))
    for rule in synth.resources(env, stack, "AWS::EC2::SecurityGroupEgress").values():
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}:
            rules.append(rule["Properties"])
    return [r for r in rules if r.get("FromPort") == 443]


@pytest.mark.parametrize(
    ("env", "stack", "group"),
    [(env, "Network", "NetworkWorkloadSecurityGroup") for env in ENVIRONMENTS]
    + [("dev", "DevEnvironment", "DevBoxSecurityGroup")],
)
def test_https_egress_only_to_the_endpoints_and_the_s3_prefix_list(
    synth: Synth, env: str, stack: str, group: str
) -> None:
    """Item 2: 443 goes to the interface endpoints' group and the region's S3 prefix list,
    never to 0.0.0.0/0."""
    rules = _https_egress(synth, env, stack, group)
    assert len(rules) == 2, rules
    assert not any("CidrIp" in r or "CidrIpv6" in r for r in rules), rules
    destinations = sorted(
        flatten_reference(r.get("DestinationSecurityGroupId") or r["DestinationPrefixListId"])
        for r in rules
    )
    assert "EndpointSecurityGroup" in destinations[0] or "EndpointSecurityGroup" in destinations[1]
    assert any("S3PrefixListLookup" in d and "PrefixListId" in d for d in destinations)
    (lookup,) = synth.resources(env, "Network", "Custom::AWS").values()
    call = flatten_reference(lookup["Properties"]["Update"])
    assert '"action":"describeManagedPrefixLists"' in call.replace(" ", "")
    assert "com.amazonaws.<AWS::Region>.s3" in call


def test_network_isolation_is_the_default_everywhere(synth: Synth) -> None:
    """Item 5: the test environment's served model too."""
    assert all(c.serving.network_isolation for c in synth.configs.values())
    (model,) = synth.resources("test", "Serving", "AWS::SageMaker::Model").values()
    assert model["Properties"]["EnableNetworkIsolation"] is True


def test_iam_keeps_the_model_role_export_a_deployed_serving_stack_imports(synth: Synth) -> None:
    """The Serving stack before isolation imported the model role's name; CloudFormation
    refuses to delete an export that is imported, so the Iam stack keeps it."""
    outputs = synth.template_json("test", "Iam")["Outputs"]
    names = [o["Export"]["Name"] for o in outputs.values() if "Export" in o]
    assert "SageStack-test-Iam:ExportsOutputRefJobRolesModelRole9059C577EC169816" in names
