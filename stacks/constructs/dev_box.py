"""An optional EC2 dev instance with the SDK installed, reachable only through Session Manager."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from stacks.constructs.package_mirror import PackageMirrorRef
from stacks.constructs.private_network import https_out_security_group
from stacks.constructs.sdk_install import render_dev_box_user_data
from stacks.constructs.sdk_wheel import SdkWheelAsset
from stacks.nag import acknowledge

ROOT_DEVICE = "/dev/xvda"
"""The root device name of Amazon Linux 2023 AMIs."""

DEV_BOX_EVIDENCE = (
    (
        r"Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:instance/\*",
        "ssm:UpdateInstanceInformation for this box's SSM agent: the instance id exists only "
        "after the instance, which needs this role first.",
    ),
)
"""Evidence for the wildcards the dev box adds to the workbench grants."""


@dataclass(frozen=True, kw_only=True)
class DevBoxProps:
    instance_type: str
    volume_size_gib: int
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    key: kms.IKey
    """Encrypts the root volume."""
    sdk: SdkWheelAsset
    mirror: PackageMirrorRef
    """The package index of the SDK's dependencies; the role may read it, and nothing else there."""
    https_destinations: Sequence[tuple[ec2.IPeer, str]]
    """Where its HTTPS may go (peer, rule description): the network's endpoints and S3."""


class DevBox(Construct):
    """No inbound rule, no key pair, no public IP; IMDSv2 only; encrypted root volume.

    Replaced when its user data changes (a new SDK wheel), so keep work in S3 or git, not on it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: DevBoxProps) -> None:
        super().__init__(scope, construct_id)
        self.security_group = https_out_security_group(
            self,
            "SecurityGroup",
            props.vpc,
            description="EC2 dev box: no inbound rules; Session Manager needs none",
            destinations=props.https_destinations,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"),
            description="EC2 dev box: Session Manager agent and the SDK's user",
        )
        # The Session Manager minimum (Systems Manager guide, "custom IAM role for Session
        # Manager") instead of the broader AmazonSSMManagedInstanceCore managed policy.
        stack = Stack.of(self)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ssm:UpdateInstanceInformation"],
                resources=[stack.format_arn(service="ec2", resource="instance", resource_name="*")],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                resources=["*"],
            )
        )
        self.role.add_to_principal_policy(props.sdk.read_statement())
        for statement in props.mirror.read_statements():
            self.role.add_to_principal_policy(statement)

        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            render_dev_box_user_data(props.sdk.install_source(stack.region, props.mirror))
        )
        self.instance = ec2.Instance(
            self,
            "Resource",
            vpc=props.vpc,
            vpc_subnets=props.subnets,
            instance_type=ec2.InstanceType(props.instance_type),
            # A CloudFormation parameter whose default is the public SSM path: resolved at deploy
            # time, no context lookup at synth, no hard-coded AMI id.
            machine_image=ec2.MachineImage.latest_amazon_linux2023(),
            role=self.role,
            security_group=self.security_group,
            require_imdsv2=True,
            detailed_monitoring=True,
            ebs_optimized=True,
            user_data=user_data,
            user_data_causes_replacement=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name=ROOT_DEVICE,
                    volume=ec2.BlockDeviceVolume.ebs(
                        props.volume_size_gib,
                        encrypted=True,
                        kms_key=props.key,
                        volume_type=ec2.EbsDeviceVolumeType.GP3,
                        delete_on_termination=True,
                    ),
                )
            ],
        )
        acknowledge(
            self.instance,
            "AwsSolutions-EC29",
            "A disposable dev box: CloudFormation replaces it whenever its user data (the SDK "
            "wheel) changes, which termination protection would block; it holds no state, data "
            "lives in the retained, versioned S3 buckets.",
        )
