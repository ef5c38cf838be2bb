"""Network stack: isolated subnets only, the endpoints SageMaker needs, encrypted flow logs."""

from __future__ import annotations

import ast
import ipaddress
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from .conftest import ENVIRONMENTS, Synth

SAGEMAKER_SERVICES = {
    "s3",
    "sagemaker.api",
    "sagemaker.runtime",
    "sts",
    "logs",
    "ecr.api",
    "ecr.dkr",
    "ssm",
    "states",
    "codeartifact.api",
    "codeartifact.repositories",
}
SESSION_MANAGER_SERVICES = {"ssmmessages", "ec2messages"}


def _endpoint_services(synth: Synth, env: str) -> dict[str, str]:
    services = {}
    for endpoint in synth.resources(env, "Network", "AWS::EC2::VPCEndpoint").values():
        _, parts = endpoint["Properties"]["ServiceName"]["Fn::Join"]
        services[parts[-1].lstrip(".")] = endpoint["Properties"].get("VpcEndpointType", "Gateway")
    return services


@pytest.mark.parametrize(("env", "cidr"), [("dev", "10.10.0.0/16"), ("prod", "10.30.0.0/16")])
def test_vpc_uses_the_configured_cidr(synth: Synth, env: str, cidr: str) -> None:
    synth.template(env, "Network").has_resource_properties("AWS::EC2::VPC", {"CidrBlock": cidr})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_isolated_subnets_and_no_route_out(synth: Synth, env: str) -> None:
    template = synth.template(env, "Network")
    for resource_type in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        template.resource_count_is(resource_type, 0)
    template.resource_count_is("AWS::EC2::Subnet", 2)  # max_azs = 2 in every environment
    template.resource_count_is("AWS::EC2::Route", 0)
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})


def test_endpoints_for_sagemaker_without_internet(synth: Synth) -> None:
    services = _endpoint_services(synth, "prod")
    assert set(services) == SAGEMAKER_SERVICES
    assert services["s3"] == "Gateway"
    assert {k for k, v in services.items() if v == "Interface"} == SAGEMAKER_SERVICES - {"s3"}


def test_interface_endpoints_have_private_dns(synth: Synth) -> None:
    for endpoint in synth.resources("dev", "Network", "AWS::EC2::VPCEndpoint").values():
        props = endpoint["Properties"]
        if props.get("VpcEndpointType") == "Interface":
            assert props["PrivateDnsEnabled"] is True


def test_session_manager_endpoints_only_with_a_dev_box(synth: Synth) -> None:
    assert set(_endpoint_services(synth, "dev")) >= SESSION_MANAGER_SERVICES
    assert not SESSION_MANAGER_SERVICES & set(_endpoint_services(synth, "test"))


def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(synth: Synth) -> None:
    template = synth.template("dev", "Network")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    template.has_resource(
        "AWS::Logs::LogGroup",
        {
            "Properties": {
                "KmsKeyId": {"Fn::ImportValue": "sagestack-dev-data-key-arn"},
                "RetentionInDays": 30,
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_prod_log_retention_is_a_year(synth: Synth) -> None:
    synth.template("prod", "Network").has_resource_properties(
        "AWS::Logs::LogGroup", {"RetentionInDays": 365}
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_ingress_from_outside_the_vpc(synth: Synth, env: str) -> None:
    vpc_cidr = ipaddress.IPv4Network(synth.configs[env].network.vpc_cidr)
    rules = []
    for stack_id in ("Network", "DevEnvironment"):
        for group in synth.resources(env, stack_id, "AWS::EC2::SecurityGroup").values():
            rules += group["Properties"].get("SecurityGroupIngress", [])
        rules += [
            r["Properties"]
            for r in synth.resources(env, stack_id, "AWS::EC2::SecurityGroupIngress").values()
        ]
    assert rules
    for rule in rules:
        assert "CidrIpv6" not in rule and "SourcePrefixListId" not in rule
        if "CidrIp" in rule:
            assert ipaddress.IPv4Network(rule["CidrIp"]).subnet_of(vpc_cidr), rule
        else:
            assert "SourceSecurityGroupId" in rule, rule


def test_workload_security_group_only_talks_to_itself_and_https(synth: Synth) -> None:
    template = synth.template("dev", "Network")
    template.has_resource_properties(
        "AWS::EC2::SecurityGroup",
        {
            "GroupDescription": "SageMaker notebook, training jobs and endpoints",
            "SecurityGroupEgress": [
                Match.object_like({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443})
            ],
        },
    )
    protocols = sorted(
        r["Properties"]["IpProtocol"]
        for r in synth.resources("dev", "Network", "AWS::EC2::SecurityGroupIngress").values()
    )
    assert protocols == ["50", "tcp", "udp"]


def test_default_security_group_is_restricted(synth: Synth) -> None:
    synth.template("dev", "Network").resource_count_is("Custom::VpcRestrictDefaultSG", 1)


@pytest.mark.parametrize("name", ["vpc-id", "subnet-ids", "security-group-id"])
def test_discovery_parameters(synth: Synth, name: str) -> None:
    synth.template("dev", "Network").has_resource_properties(
        "AWS::SSM::Parameter", {"Name": f"/sagestack/dev/{name}", "Type": "String"}
    )


def test_flow_log_group_logical_id_is_pinned(synth: Synth) -> None:
    resources = synth.template_json("dev", "Network")["Resources"]
    assert resources["NetworkFlowLogGroup4F8CEEEF"]["Type"] == "AWS::Logs::LogGroup"


SDK_DIR = Path(__file__).resolve().parents[2] / "sagestack"
# boto3's service name -> the VPC endpoint's (com.amazonaws.<region>.<name>). A client the SDK
# starts to use that is missing here fails the test below: add its endpoint and its line.
BOTO3_ENDPOINT_SERVICES = {
    "s3": "s3",
    "sagemaker": "sagemaker.api",
    "sagemaker-runtime": "sagemaker.runtime",
    "logs": "logs",
    "ssm": "ssm",
    "stepfunctions": "states",
    "sts": "sts",
    "ecr": "ecr.api",
    "codeartifact": "codeartifact.api",
}


def sdk_boto3_services() -> dict[str, set[str]]:
    """Every `<anything>.client("<service>", ...)` call in sagestack/ (boto3.client, a Session's,
    the SDK's Platform.client), service -> the files that make it."""
    found: dict[str, set[str]] = {}
    for path in sorted(SDK_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "client"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.setdefault(node.args[0].value, set()).add(path.name)
    return found


def test_the_sdk_scan_finds_the_clients_known_today() -> None:
    assert {"s3", "sagemaker", "sagemaker-runtime", "logs", "ssm", "stepfunctions"} <= set(
        sdk_boto3_services()
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_aws_service_the_sdk_calls_has_a_vpc_endpoint(synth: Synth, env: str) -> None:
    services = sdk_boto3_services()
    unmapped = sorted(set(services) - set(BOTO3_ENDPOINT_SERVICES))
    assert not unmapped, f"SDK clients with no known endpoint name: {unmapped} in {services}"
    endpoints = set(_endpoint_services(synth, env))
    missing = {
        s: sorted(services[s]) for s in services if BOTO3_ENDPOINT_SERVICES[s] not in endpoints
    }
    assert not missing, f"no VPC endpoint for what the SDK calls: {missing}"
