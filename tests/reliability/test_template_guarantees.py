"""Security and durability guarantees, checked on every synthesized template of every
environment, including stacks added after this file was written (the assembly is walked, not
listed). Each test collects every violation and fails with the whole list.

The lists of exceptions below are part of the guarantee: each entry says why it is safe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .cfn_emulator import StackArtifact, stacks_of, stage_dirs

# Actions that AWS does not let a policy scope to a resource: `Resource: *` is the only way to
# grant them (Service Authorization Reference, "Resource types" column empty).
RESOURCE_STAR_ACTIONS = {
    "ec2:DescribeDhcpOptions": "EC2 Describe* calls have no resource-level permissions",
    "ec2:DescribeNetworkInterfaces": "EC2 Describe* calls have no resource-level permissions",
    "ec2:DescribeSecurityGroups": "EC2 Describe* calls have no resource-level permissions",
    "ec2:DescribeSubnets": "EC2 Describe* calls have no resource-level permissions",
    "ec2:DescribeVpcs": "EC2 Describe* calls have no resource-level permissions",
    "ecr:GetAuthorizationToken": "account-wide registry token; no resource type",
    "sts:GetServiceBearerToken": "no resource type; scoped by sts:AWSServiceName=codeartifact",
    "cloudwatch:PutMetricData": "no resource type; scoped by a cloudwatch:namespace condition",
    "ssmmessages:CreateControlChannel": "Session Manager channels have no resource type",
    "ssmmessages:CreateDataChannel": "Session Manager channels have no resource type",
    "ssmmessages:OpenControlChannel": "Session Manager channels have no resource type",
    "ssmmessages:OpenDataChannel": "Session Manager channels have no resource type",
    "logs:CreateLogDelivery": "vended-log deliveries (Step Functions logging) have no ARN",
    "logs:GetLogDelivery": "vended-log deliveries (Step Functions logging) have no ARN",
    "logs:UpdateLogDelivery": "vended-log deliveries (Step Functions logging) have no ARN",
    "logs:DeleteLogDelivery": "vended-log deliveries (Step Functions logging) have no ARN",
    "logs:ListLogDeliveries": "vended-log deliveries (Step Functions logging) have no ARN",
    "logs:PutResourcePolicy": "account-level resource policy, no resource type",
    "logs:DescribeResourcePolicies": "account-level list call, no resource type",
    "logs:DescribeLogGroups": "list call; the resource is the account",
    "xray:PutTraceSegments": "X-Ray write calls have no resource type",
    "xray:PutTelemetryRecords": "X-Ray write calls have no resource type",
    "xray:GetSamplingRules": "X-Ray sampling calls have no resource type",
    "xray:GetSamplingTargets": "X-Ray sampling calls have no resource type",
    "sagemaker:ListEndpoints": "SageMaker List* calls have no resource type",
    "sagemaker:ListTrainingJobs": "SageMaker List* calls have no resource type",
    "sagemaker:ListModelPackages": "SageMaker List* calls have no resource type",
    "sagemaker:ListModelPackageGroups": "SageMaker List* calls have no resource type",
    "sagemaker:ListModels": "SageMaker List* calls have no resource type",
    "sagemaker:ListEndpointConfigs": "SageMaker List* calls have no resource type",
    "sagemaker:ListTransformJobs": "SageMaker List* calls have no resource type",
    "ec2:DescribeManagedPrefixLists": "EC2 Describe* calls have no resource type",
}

# Types that hold data that must outlive a stateless stack. They belong in the Data stack,
# with DeletionPolicy and UpdateReplacePolicy Retain.
STATEFUL_TYPES = {
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::DynamoDB::Table",
    "AWS::EFS::FileSystem",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::ECR::Repository",
    # The model registry: approval states and lineage. CloudFormation cannot delete a group
    # that still has model packages, so a stateless stack holding it fails to destroy.
    "AWS::SageMaker::ModelPackageGroup",
}
DATA_STACK_ID = "Data"

# What every SageMaker resource type must carry; a type not listed here fails the test until
# someone decides what it needs.
SAGEMAKER_RULES = {
    "AWS::SageMaker::NotebookInstance": ("KmsKeyId", "SubnetId", "SecurityGroupIds"),
    "AWS::SageMaker::Model": ("VpcConfig",),
    "AWS::SageMaker::EndpointConfig": ("KmsKeyId",),  # instance variants only, see below
    "AWS::SageMaker::Endpoint": (),  # encryption and network come from its config and model
    "AWS::SageMaker::ModelPackageGroup": (),  # metadata only: no KMS or VPC properties
    "AWS::SageMaker::NotebookInstanceLifecycleConfig": (),  # scripts only
}
# Step Functions tasks that create SageMaker jobs: keys their Parameters must set.
SAGEMAKER_TASKS = {
    "createTrainingJob": (
        "VpcConfig",
        "OutputDataConfig.KmsKeyId",
        "ResourceConfig.VolumeKmsKeyId",
    ),
    "createTransformJob": ("TransformOutput.KmsKeyId", "TransformResources.VolumeKmsKeyId"),
    "createProcessingJob": (
        "NetworkConfig.VpcConfig",
        "ProcessingOutputConfig.KmsKeyId",
        "ProcessingResources.ClusterConfig.VolumeKmsKeyId",
    ),
    "createHyperParameterTuningJob": (
        "TrainingJobDefinition.VpcConfig",
        "TrainingJobDefinition.OutputDataConfig.KmsKeyId",
        "TrainingJobDefinition.ResourceConfig.VolumeKmsKeyId",
    ),
    "createModel": ("VpcConfig",),
    "createEndpointConfig": ("KmsKeyId",),
}
ANYWHERE = {"0.0.0.0/0", "::/0"}


@dataclass(frozen=True)
class Deployed:
    """One stack of one environment, as synthesized."""

    env: str
    stack: StackArtifact

    @property
    def stack_id(self) -> str:
        return self.stack.display_name.split("/")[-1]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.stack.template.get("Resources", {})  # type: ignore[no-any-return]

    def of_type(self, *types: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for logical_id, resource in self.resources.items():
            if resource["Type"] in types:
                yield logical_id, resource

    def where(self, logical_id: str) -> str:
        return f"{self.stack.stack_name}/{logical_id}"


@pytest.fixture(scope="module")
def stacks(assembly: Path) -> list[Deployed]:
    found = [
        Deployed(stage.name.removeprefix("assembly-SageStack-"), stack)
        for stage in stage_dirs(assembly)
        for stack in stacks_of(stage)
    ]
    assert {s.env for s in found} == {"dev", "test", "prod"}
    return found


def _props(resource: dict[str, Any]) -> dict[str, Any]:
    return resource.get("Properties", {})  # type: ignore[no-any-return]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def render(value: Any) -> str:
    """A CloudFormation value as text; intrinsics we cannot resolve become TOKEN."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(render(p) for p in parts)
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"]
        return text if isinstance(text, str) else render(text[0])
    return "TOKEN"


def _refers_to(value: Any, logical_id: str) -> bool:
    """Whether a property value references the resource by Ref or GetAtt."""
    if isinstance(value, dict):
        if value.get("Ref") == logical_id:
            return True
        if "Fn::GetAtt" in value and _as_list(value["Fn::GetAtt"])[0] == logical_id:
            return True
        return any(_refers_to(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(_refers_to(v, logical_id) for v in value)
    return False


def _fail_on(violations: list[str], what: str, *, checked: int, at_least: int, of: str) -> None:
    """Fail with every violation, or when fewer than `at_least` of `of` were checked: a
    guarantee that matched nothing (a renamed type, an emptied stack) proves nothing."""
    assert checked >= at_least, f"checked {checked} {of}, expected at least {at_least}"
    assert not violations, f"{len(violations)} {what}:\n  " + "\n  ".join(violations)


# --------------------------------------------------------------------------- S3


def _denies_insecure_transport(statement: dict[str, Any], bucket_id: str) -> bool:
    if statement.get("Effect") != "Deny":
        return False
    condition = statement.get("Condition", {}).get("Bool", {})
    if str(condition.get("aws:SecureTransport")).lower() != "false":
        return False
    principal = statement.get("Principal")
    if principal not in ("*", {"AWS": "*"}):
        return False
    if not any(a in ("s3:*", "*") for a in _as_list(statement.get("Action"))):
        return False
    resources = [render(r) for r in _as_list(statement.get("Resource"))]
    covers_bucket = any(_refers_to(r, bucket_id) for r in _as_list(statement.get("Resource")))
    covers_objects = any(r.endswith("/*") for r in resources)
    return covers_bucket and covers_objects


def test_every_bucket_is_encrypted_versioned_ssl_only_private_and_retained(
    stacks: list[Deployed],
) -> None:
    violations, buckets = [], 0
    for deployed in stacks:
        policies = [_props(r) for _, r in deployed.of_type("AWS::S3::BucketPolicy")]
        for logical_id, bucket in deployed.of_type("AWS::S3::Bucket"):
            buckets += 1
            where, props = deployed.where(logical_id), _props(bucket)
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            algorithms = {
                r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules
            }
            if not algorithms or not algorithms <= {"aws:kms", "aws:kms:dsse", "AES256"}:
                violations.append(f"{where}: default encryption {algorithms or 'missing'}")
            if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
                violations.append(f"{where}: versioning not enabled")
            block = props.get("PublicAccessBlockConfiguration", {})
            for flag in (
                "BlockPublicAcls",
                "BlockPublicPolicy",
                "IgnorePublicAcls",
                "RestrictPublicBuckets",
            ):
                if block.get(flag) is not True:
                    violations.append(f"{where}: public access block {flag} is not true")
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if bucket.get(policy) != "Retain":
                    violations.append(f"{where}: {policy} {bucket.get(policy)!r}, not Retain")
            ssl_only = any(
                _refers_to(p.get("Bucket"), logical_id)
                and any(
                    _denies_insecure_transport(s, logical_id)
                    for s in p.get("PolicyDocument", {}).get("Statement", [])
                )
                for p in policies
            )
            if not ssl_only:
                violations.append(f"{where}: no bucket policy denying aws:SecureTransport=false")
    # At least 9: data, artifacts and access logs in 3 environments.
    _fail_on(violations, "bucket problems", checked=buckets, at_least=9, of="buckets")


# --------------------------------------------------------------------------- KMS


def _only_encrypts_transient_messages(deployed: Deployed, key_id: str) -> bool:
    """A key referenced only by SNS topics (and by IAM statements) protects messages in
    flight, not data at rest; it may go with its stack."""
    users = [
        r["Type"]
        for other_id, r in deployed.resources.items()
        if other_id != key_id and _refers_to(_props(r), key_id)
    ]
    allowed = {"AWS::SNS::Topic", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::KMS::Alias"}
    return bool(users) and set(users) <= allowed


def test_every_kms_key_rotates_and_keys_that_protect_data_are_retained(
    stacks: list[Deployed],
) -> None:
    violations, keys = [], 0
    for deployed in stacks:
        for logical_id, key in deployed.of_type("AWS::KMS::Key"):
            keys += 1
            where = deployed.where(logical_id)
            if _props(key).get("EnableKeyRotation") is not True:
                violations.append(f"{where}: key rotation not enabled")
            retained = key.get("DeletionPolicy") == key.get("UpdateReplacePolicy") == "Retain"
            if not retained and not _only_encrypts_transient_messages(deployed, logical_id):
                violations.append(f"{where}: not Retain, yet it encrypts more than SNS messages")
        if deployed.stack_id == DATA_STACK_ID:
            retained_keys = [
                k
                for _, k in deployed.of_type("AWS::KMS::Key")
                if k.get("DeletionPolicy") == "Retain"
            ]
            if not retained_keys:
                violations.append(f"{deployed.stack.stack_name}: no retained data key")
    _fail_on(violations, "KMS key problems", checked=keys, at_least=3, of="keys (a data key each)")


# --------------------------------------------------------------------------- IAM


def _policy_documents(deployed: Deployed) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(where, kind, document): identity policies and resource policies of the stack."""
    for logical_id, resource in deployed.resources.items():
        props, kind = _props(resource), resource["Type"]
        where = deployed.where(logical_id)
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield where, "identity", props.get("PolicyDocument", {})
        elif kind in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for inline in props.get("Policies", []):
                yield f"{where}:{inline.get('PolicyName')}", "identity", inline["PolicyDocument"]
        elif kind == "AWS::KMS::Key":
            yield where, "key", props.get("KeyPolicy", {})
        elif kind in (
            "AWS::S3::BucketPolicy",
            "AWS::SNS::TopicPolicy",
            "AWS::SQS::QueuePolicy",
            "AWS::Logs::ResourcePolicy",
        ):
            document = props.get("PolicyDocument", {})
            if isinstance(document, str):
                document = json.loads(document)
            yield where, "resource", document


def _is_account_root_delegation(statement: dict[str, Any]) -> bool:
    """The default key policy statement: the account root may use the key, which lets IAM
    policies (scoped, checked here) grant it. Without it the key becomes unmanageable."""
    principal = render(statement.get("Principal", {}).get("AWS", ""))
    return (
        statement.get("Action") == "kms:*"
        and re.fullmatch(r"arn:TOKEN:iam::TOKEN:root", principal) is not None
        and "Condition" not in statement
    )


def test_no_policy_allows_every_action_of_a_service(stacks: list[Deployed]) -> None:
    violations, statements = [], 0
    for deployed in stacks:
        for where, kind, document in _policy_documents(deployed):
            for statement in _as_list(document.get("Statement", [])):
                statements += 1
                if statement.get("Effect") != "Allow":
                    continue
                if "NotAction" in statement:
                    violations.append(f"{where}: Allow with NotAction")
                if kind == "key" and _is_account_root_delegation(statement):
                    continue
                for action in _as_list(statement.get("Action", [])):
                    if action == "*" or (isinstance(action, str) and action.endswith(":*")):
                        violations.append(f"{where}: Allow {action}")
    _fail_on(violations, "over-broad actions", checked=statements, at_least=51, of="statements")


def test_no_managed_full_access_or_admin_policy(stacks: list[Deployed]) -> None:
    violations, principals = [], 0
    forbidden = re.compile(r"FullAccess|AdministratorAccess|PowerUserAccess")
    for deployed in stacks:
        for logical_id, resource in deployed.of_type(
            "AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"
        ):
            principals += 1
            for arn in _as_list(_props(resource).get("ManagedPolicyArns", [])):
                if forbidden.search(render(arn)):
                    violations.append(f"{deployed.where(logical_id)}: {render(arn)}")
    # At least 12 roles, users and groups: the Iam stack's four job roles in 3 environments.
    _fail_on(violations, "managed full-access policies", checked=principals, at_least=12, of="IAM")


def test_wildcard_resources_only_for_actions_without_resource_level_permissions(
    stacks: list[Deployed],
) -> None:
    violations, wildcards = [], 0
    for deployed in stacks:
        for where, kind, document in _policy_documents(deployed):
            if kind != "identity":
                continue  # in a key or bucket policy, the resource is the policy's owner
            for statement in _as_list(document.get("Statement", [])):
                if statement.get("Effect") != "Allow":
                    continue
                if "*" not in [render(r) for r in _as_list(statement.get("Resource", []))]:
                    continue
                wildcards += 1
                for action in _as_list(statement.get("Action", [])):
                    if action not in RESOURCE_STAR_ACTIONS:
                        violations.append(f"{where}: {action} on Resource *")
    what = "wildcard resources that a narrower ARN could replace"
    # At least 1: the allow-list is exercised (EC2 describes, ECR token, ...).
    _fail_on(violations, what, checked=wildcards, at_least=1, of="Resource * statements")


# --------------------------------------------------------------------------- SageMaker


def _state_machine_definition(resource: dict[str, Any]) -> dict[str, Any]:
    props = _props(resource)
    text = render(props.get("DefinitionString", ""))
    if not text or text == "TOKEN":
        return props.get("Definition") or {}  # type: ignore[no-any-return]
    return json.loads(text)  # type: ignore[no-any-return]


def _tasks(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in definition.get("States", {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _tasks(branch)
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from _tasks(state[key])


def _has_path(parameters: dict[str, Any], path: str) -> bool:
    node: Any = parameters
    for part in path.split("."):
        if not isinstance(node, dict):
            return False
        if part not in node:
            return f"{part}.$" in node  # set from the execution input at run time
        node = node[part]
    return node not in (None, "", [], {})


def test_sagemaker_resources_have_kms_keys_and_vpc_config(stacks: list[Deployed]) -> None:
    violations, checked = [], 0
    for deployed in stacks:
        for logical_id, resource in deployed.resources.items():
            kind, props, where = resource["Type"], _props(resource), deployed.where(logical_id)
            if kind.startswith("AWS::SageMaker::"):
                if kind not in SAGEMAKER_RULES:
                    violations.append(f"{where}: {kind} has no KMS/VPC rule here yet; add one")
                    continue
                required = SAGEMAKER_RULES[kind]
                if kind == "AWS::SageMaker::EndpointConfig":
                    variants = props.get("ProductionVariants", [])
                    if variants and all("ServerlessConfig" in v for v in variants):
                        required = ()  # serverless variants take no KmsKeyId
                    capture = props.get("DataCaptureConfig")
                    if (
                        capture
                        and capture.get("EnableCapture", True)
                        and not capture.get("KmsKeyId")
                    ):
                        violations.append(f"{where}: data capture without KmsKeyId")
                for key in required:
                    if not props.get(key):
                        violations.append(f"{where}: {kind} without {key}")
                checked += 1
            elif kind == "AWS::StepFunctions::StateMachine":
                try:
                    definition = _state_machine_definition(resource)
                except json.JSONDecodeError as error:
                    violations.append(f"{where}: definition not readable here ({error})")
                    continue
                for state_name, state in _tasks(definition):
                    match = re.search(
                        r":states:::sagemaker:(\w+?)(?:\.sync|\.waitForTaskToken)?$",
                        render(state.get("Resource", "")),
                    )
                    if not match or match.group(1) not in SAGEMAKER_TASKS:
                        continue
                    checked += 1
                    for path in SAGEMAKER_TASKS[match.group(1)]:
                        if not _has_path(state.get("Parameters", {}), path):
                            violations.append(
                                f"{where}/{state_name}: {match.group(1)} without {path}"
                            )
    what = "SageMaker resources without KMS or VPC settings"
    # At least 3: the notebook of every environment.
    _fail_on(violations, what, checked=checked, at_least=3, of="SageMaker resources and tasks")


def test_the_notebook_has_no_direct_internet_and_no_root(stacks: list[Deployed]) -> None:
    violations, notebooks = [], 0
    for deployed in stacks:
        for logical_id, notebook in deployed.of_type("AWS::SageMaker::NotebookInstance"):
            notebooks += 1
            props = _props(notebook)
            for key in ("DirectInternetAccess", "RootAccess"):
                if props.get(key) != "Disabled":
                    violations.append(f"{deployed.where(logical_id)}: {key}={props.get(key)!r}")
    assert notebooks == 3, "one notebook per environment"
    _fail_on(violations, "notebook problems", checked=notebooks, at_least=3, of="notebooks")


# --------------------------------------------------------------------------- network


def _ingress_rules(deployed: Deployed) -> Iterator[tuple[str, str | None, dict[str, Any]]]:
    """(where, security group logical id or None, rule) for inline and standalone rules."""
    for logical_id, group in deployed.of_type("AWS::EC2::SecurityGroup"):
        for rule in _props(group).get("SecurityGroupIngress", []):
            yield deployed.where(logical_id), logical_id, rule
    for logical_id, rule in deployed.of_type("AWS::EC2::SecurityGroupIngress"):
        group = _props(rule).get("GroupId")
        target = None
        if isinstance(group, dict) and "Fn::GetAtt" in group:
            target = group["Fn::GetAtt"][0]
        elif isinstance(group, dict) and "Ref" in group:
            target = group["Ref"]
        yield deployed.where(logical_id), target, _props(rule)


def _includes_port(rule: dict[str, Any], port: int) -> bool:
    protocol = str(rule.get("IpProtocol"))
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(rule.get("FromPort", 0)) <= port <= int(rule.get("ToPort", 65535))


def test_no_security_group_ingress_from_anywhere(stacks: list[Deployed]) -> None:
    violations, groups = [], 0
    for deployed in stacks:
        groups += sum(1 for _ in deployed.of_type("AWS::EC2::SecurityGroup"))
        for where, _, rule in _ingress_rules(deployed):
            for key in ("CidrIp", "CidrIpv6"):
                if rule.get(key) in ANYWHERE:
                    violations.append(f"{where}: ingress from {rule[key]}")
            if _includes_port(rule, 22) and (rule.get("CidrIp") or rule.get("CidrIpv6")):
                violations.append(
                    f"{where}: SSH (22) open to {rule.get('CidrIp') or rule.get('CidrIpv6')}"
                )
    # At least 3: the Network stack's security groups, in 3 environments.
    _fail_on(violations, "open ingress rules", checked=groups, at_least=3, of="security groups")


def test_the_dev_box_requires_imdsv2_and_has_no_ssh(stacks: list[Deployed]) -> None:
    violations, instances = [], 0
    for deployed in stacks:
        templates = {lid: _props(r) for lid, r in deployed.of_type("AWS::EC2::LaunchTemplate")}
        for logical_id, data in templates.items():
            launch = data.get("LaunchTemplateData", {})
            if launch.get("MetadataOptions", {}).get("HttpTokens") != "required":
                violations.append(f"{deployed.where(logical_id)}: IMDSv1 allowed (HttpTokens)")
            if "KeyName" in launch:
                violations.append(f"{deployed.where(logical_id)}: launch template has a KeyName")
        rules = list(_ingress_rules(deployed))
        for logical_id, instance in deployed.of_type("AWS::EC2::Instance"):
            instances += 1
            props, where = _props(instance), deployed.where(logical_id)
            if "KeyName" in props:
                violations.append(f"{where}: has an SSH key pair ({props['KeyName']})")
            reference = props.get("LaunchTemplate", {})
            names = {render(d.get("LaunchTemplateName")) for d in templates.values()}
            uses_template = (
                any(_refers_to(reference, lid) for lid in templates)
                or render(reference.get("LaunchTemplateName")) in names
            )
            if not uses_template:
                violations.append(f"{where}: no launch template, so IMDSv2 is not enforced")
            groups = [
                g["Fn::GetAtt"][0]
                for g in props.get("SecurityGroupIds", [])
                if isinstance(g, dict) and "Fn::GetAtt" in g
            ]
            for rule_where, group, rule in rules:
                if group in groups and _includes_port(rule, 22):
                    violations.append(f"{where}: port 22 open via {rule_where}")
    # At least 1: the dev environment has a dev box.
    _fail_on(violations, "dev box problems", checked=instances, at_least=1, of="instances")


# --------------------------------------------------------------------------- teardown


def test_stateless_stacks_hold_nothing_stateful_and_the_data_stack_retains_everything(
    stacks: list[Deployed],
) -> None:
    violations, checked = [], 0
    for deployed in stacks:
        stateful = [
            (lid, r) for lid, r in deployed.resources.items() if r["Type"] in STATEFUL_TYPES
        ]
        checked += len(stateful)
        for logical_id, resource in stateful:
            where = deployed.where(logical_id)
            if deployed.stack_id != DATA_STACK_ID:
                if resource["Type"] == "AWS::KMS::Key" and _only_encrypts_transient_messages(
                    deployed, logical_id
                ):
                    continue  # SNS message key: nothing at rest depends on it
                policy = resource.get("DeletionPolicy", "Delete")
                consequence = (
                    "survives `cdk destroy`, but redeploying this stack then collides with it"
                    if policy == "Retain"
                    else "is deleted (or blocks the delete) with this stack"
                )
                violations.append(
                    f"{where}: {resource['Type']} in a stateless stack ({policy}: {consequence}); "
                    "it belongs in the Data stack"
                )
            elif (
                not resource.get("DeletionPolicy")
                == resource.get("UpdateReplacePolicy")
                == "Retain"
            ):
                violations.append(f"{where}: {resource['Type']} not retained")
    # At least 12: three buckets and a key in each Data stack.
    _fail_on(violations, "teardown hazards", checked=checked, at_least=12, of="stateful resources")


def test_the_data_stack_has_termination_protection_in_prod(
    stacks: list[Deployed], cdk_context: dict[str, Any]
) -> None:
    environments = cdk_context["sagestack"]["environments"]
    data_stacks = [s for s in stacks if s.stack_id == DATA_STACK_ID]
    assert len(data_stacks) == len(environments), "one Data stack per environment"
    for deployed in data_stacks:
        expected = bool(environments[deployed.env]["termination_protection"])
        assert deployed.stack.termination_protection is expected, deployed.stack.stack_name
    prod_data = [s for s in stacks if s.env == "prod" and s.stack_id == DATA_STACK_ID]
    assert [s.stack.termination_protection for s in prod_data] == [True]
