"""An isolated VPC that reaches AWS only through VPC endpoints, with encrypted flow logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from stacks.constructs.endpoint_policies import interface_statement, s3_gateway_statements
from stacks.constructs.retention import retention
from stacks.constructs.s3_prefix_list import S3PrefixList
from stacks.nag import acknowledge_nist_hipaa

# What SageMaker jobs, the notebook and the SDK call from inside a VPC without internet access.
SAGEMAKER_ENDPOINTS = {
    "SageMakerApiEndpoint": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_API,
    "SageMakerRuntimeEndpoint": ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
    "StsEndpoint": ec2.InterfaceVpcEndpointAwsService.STS,
    "LogsEndpoint": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "EcrApiEndpoint": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDockerEndpoint": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    # The SDK finds buckets, roles and subnets through SSM parameters (stacks.constructs.discovery).
    "SsmEndpoint": ec2.InterfaceVpcEndpointAwsService.SSM,
    # fit(ml.*) starts the Training stack's state machine and follows its execution.
    "StepFunctionsEndpoint": ec2.InterfaceVpcEndpointAwsService.STEP_FUNCTIONS,
    # The package mirror (stacks.constructs.package_mirror): its API for the login token, its
    # repositories for pip. Private DNS on both, so the public CodeArtifact names resolve here.
    "CodeArtifactApiEndpoint": ec2.InterfaceVpcEndpointAwsService.CODEARTIFACT_API,
    "CodeArtifactRepositoriesEndpoint": (
        ec2.InterfaceVpcEndpointAwsService.CODEARTIFACT_REPOSITORIES
    ),
}
# Session Manager's agent channels; only needed when an EC2 dev box exists.
SESSION_MANAGER_ENDPOINTS = {
    "SsmMessagesEndpoint": ec2.InterfaceVpcEndpointAwsService.SSM_MESSAGES,
    "Ec2MessagesEndpoint": ec2.InterfaceVpcEndpointAwsService.EC2_MESSAGES,
}

INTER_INSTANCE_PORTS = (
    (ec2.Port.all_tcp(), "Distributed training between instances of a job"),
    (ec2.Port.udp(500), "IKE for inter-container traffic encryption"),
    (
        ec2.Port(protocol=ec2.Protocol.ESP, string_representation="ESP"),
        "ESP for inter-container traffic encryption",
    ),
)


@dataclass(frozen=True, kw_only=True)
class PrivateNetworkProps:
    vpc_cidr: str
    max_azs: int
    availability_zones: tuple[str, ...]
    """Explicit AZs (pinned environments); empty: the stack's own AZs (no lookup when agnostic)."""
    flow_log_key: kms.IKey
    """CMK for the flow log group; its key policy must admit CloudWatch Logs."""
    log_retention_days: int
    session_manager_endpoints: bool
    """Adds the ssmmessages/ec2messages endpoints Session Manager needs."""


class PrivateNetwork(Construct):
    """Isolated subnets only (no NAT, no internet gateway) and the endpoints SageMaker needs."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PrivateNetworkProps) -> None:
        super().__init__(scope, construct_id)
        zones = list(props.availability_zones[: props.max_azs]) or None
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(props.vpc_cidr),
            max_azs=None if zones else props.max_azs,
            availability_zones=zones,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
                )
            ],
            # Removes the default security group's rules (a CDK custom resource) so nothing can
            # use it by accident; NIST/HIPAA check this.
            restrict_default_security_group=True,
        )
        self.subnet_selection = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        self.subnets = self.vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED).subnets

        flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            encryption_key=props.flow_log_key,
            retention=retention(props.log_retention_days),
            removal_policy=RemovalPolicy.RETAIN,
        )
        flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_log_group),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        _acknowledge_flow_log_role(flow_log)

        s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint",
            service=ec2.GatewayVpcEndpointAwsService.S3,
            subnets=[self.subnet_selection],
        )
        stack = Stack.of(self)
        for statement in s3_gateway_statements(stack):
            s3_endpoint.add_to_policy(statement)
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        # The configured CIDR, not the VPC's CidrBlock attribute: the same value, but literal, so
        # the rule is readable in the template and checkable by cdk-nag.
        self.endpoint_security_group.add_ingress_rule(
            ec2.Peer.ipv4(props.vpc_cidr), ec2.Port.tcp(443), "HTTPS from the VPC"
        )
        endpoints = dict(SAGEMAKER_ENDPOINTS)
        if props.session_manager_endpoints:
            endpoints.update(SESSION_MANAGER_ENDPOINTS)
        for endpoint_id, service in endpoints.items():
            interface = self.vpc.add_interface_endpoint(
                endpoint_id,
                service=service,
                subnets=self.subnet_selection,
                security_groups=[self.endpoint_security_group],
                private_dns_enabled=True,
                open=False,
            )
            interface.add_to_policy(interface_statement(stack))

        # HTTPS goes only where the isolated subnets have a route: the interface endpoints
        # (their security group) and S3 through the gateway endpoint (the region's S3 prefix
        # list); nothing else, even if a route were added later.
        self.https_destinations: tuple[tuple[ec2.IPeer, str], ...] = (
            (
                ec2.Peer.security_group_id(self.endpoint_security_group.security_group_id),
                "HTTPS to the interface endpoints",
            ),
            (
                ec2.Peer.prefix_list(S3PrefixList(self, "S3PrefixList").prefix_list_id),
                "HTTPS to S3 through the gateway endpoint",
            ),
        )
        self.workload_security_group = https_out_security_group(
            self,
            "WorkloadSecurityGroup",
            self.vpc,
            description="SageMaker notebook, training jobs and endpoints",
            destinations=self.https_destinations,
        )
        # Between the instances of one job or endpoint: TCP for distributed training, and UDP 500
        # plus ESP for inter-container traffic encryption (IPsec). Source: this group only.
        peer = self.workload_security_group
        for port, description in INTER_INSTANCE_PORTS:
            self.workload_security_group.add_ingress_rule(peer, port, description)
            self.workload_security_group.add_egress_rule(peer, port, description)


def https_out_security_group(
    scope: Construct,
    construct_id: str,
    vpc: ec2.IVpc,
    *,
    description: str,
    destinations: Sequence[tuple[ec2.IPeer, str]],
) -> ec2.SecurityGroup:
    """A security group whose outbound rules are HTTPS (443) to `destinations` (peer and rule
    description) only; no inbound rules."""
    group = ec2.SecurityGroup(
        scope, construct_id, vpc=vpc, description=description, allow_all_outbound=False
    )
    for peer, egress_description in destinations:
        group.add_egress_rule(peer, ec2.Port.tcp(443), egress_description)
    return group


def _acknowledge_flow_log_role(flow_log: ec2.FlowLog) -> None:
    policy = flow_log.node.find_child("IAMRole").node.find_child("DefaultPolicy")
    reason = (
        "ec2.FlowLog's own policy: logs:CreateLogStream/PutLogEvents/DescribeLogStreams on this "
        "flow log group's ARN and iam:PassRole on this role only, attached to this role alone "
        "and deleted with it."
    )
    acknowledge_nist_hipaa(policy, "IAMNoInlinePolicy", reason)
