"""The Network stack: the isolated VPC, its endpoints, flow logs and security groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import Construct

from stacks.constructs.discovery import Discovery
from stacks.constructs.private_network import PrivateNetwork, PrivateNetworkProps
from stacks.data_stack import DataStack


@dataclass(frozen=True, kw_only=True)
class NetworkStackProps:
    environment: str
    vpc_cidr: str
    max_azs: int
    availability_zones: tuple[str, ...]
    log_retention_days: int
    session_manager_endpoints: bool
    """True when the EC2 dev box exists (Session Manager needs two more endpoints)."""


class NetworkStack(Stack):
    """Exposes the VPC, its isolated subnets and the workload security group to other stacks."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: NetworkStackProps,
        data: DataStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        refs = data.refs_for(self)
        network = PrivateNetwork(
            self,
            "Network",
            props=PrivateNetworkProps(
                vpc_cidr=props.vpc_cidr,
                max_azs=props.max_azs,
                availability_zones=props.availability_zones,
                flow_log_key=refs.key,
                log_retention_days=props.log_retention_days,
                session_manager_endpoints=props.session_manager_endpoints,
            ),
        )
        self.vpc: ec2.IVpc = network.vpc
        self.subnet_selection = network.subnet_selection
        self.subnets: list[ec2.ISubnet] = network.subnets
        self.security_group: ec2.ISecurityGroup = network.workload_security_group
        self.https_destinations = network.https_destinations

        discovery = Discovery(self, "Discovery", environment=props.environment)
        discovery.publish("vpc-id", self.vpc.vpc_id, "Isolated VPC")
        discovery.publish(
            "subnet-ids",
            Fn.join(",", [subnet.subnet_id for subnet in self.subnets]),
            "Isolated subnets for SageMaker jobs and endpoints (comma-separated)",
        )
        discovery.publish(
            "security-group-id",
            self.security_group.security_group_id,
            "Security group for SageMaker jobs and endpoints",
        )
