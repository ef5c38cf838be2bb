"""The DevEnvironment stack: the SageMaker notebook instance and the optional EC2 dev box."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.config import DevBoxConfig, NotebookConfig
from stacks.constructs.dev_box import DEV_BOX_EVIDENCE, DevBox, DevBoxProps
from stacks.constructs.notebook import SecureNotebook, SecureNotebookProps
from stacks.constructs.role_grants import acknowledge_role_policy
from stacks.constructs.sdk_wheel import SdkWheelAsset
from stacks.constructs.workbench import grant_workbench
from stacks.foundation import Foundation
from stacks.iam_stack import job_roles_props


@dataclass(frozen=True, kw_only=True)
class DevEnvironmentStackProps:
    environment: str
    notebook: NotebookConfig
    dev_box: DevBoxConfig


class DevEnvironmentStack(Stack):
    """Where people work: both machines run in the isolated VPC with the SDK preinstalled."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: DevEnvironmentStackProps,
        foundation: Foundation,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        network, roles = foundation.network, foundation.roles
        refs = foundation.data.refs_for(self)
        mirror = foundation.data.package_mirror_for(self)
        sdk = SdkWheelAsset(self, "Sdk")
        notebook = SecureNotebook(
            self,
            "Notebook",
            props=SecureNotebookProps(
                instance_type=props.notebook.instance_type,
                volume_size_gib=props.notebook.volume_size_gib,
                idle_stop_minutes=props.notebook.idle_stop_minutes,
                role=roles.notebook_role,
                subnet=network.subnets[0],
                security_group=network.security_group,
                key=refs.key,
                sdk=sdk,
                mirror=mirror,
            ),
        )
        CfnOutput(
            self,
            "NotebookInstanceName",
            value=notebook.notebook.attr_notebook_instance_name,
            description="Open with: aws sagemaker create-presigned-notebook-instance-url",
        )

        if props.dev_box.enabled:
            dev_box = DevBox(
                self,
                "DevBox",
                props=DevBoxProps(
                    instance_type=props.dev_box.instance_type,
                    volume_size_gib=props.dev_box.volume_size_gib,
                    vpc=network.vpc,
                    subnets=network.subnet_selection,
                    https_destinations=network.https_destinations,
                    key=refs.key,
                    sdk=sdk,
                    mirror=mirror,
                ),
            )
            grant_workbench(
                dev_box.role,
                props=job_roles_props(props.environment, refs, network),
                training_role=roles.training_role,
                model_role=roles.model_role,
            )
            acknowledge_role_policy(dev_box.role, DEV_BOX_EVIDENCE)
            CfnOutput(
                self,
                "DevBoxInstanceId",
                value=dev_box.instance.instance_id,
                description="Connect with: aws ssm start-session --target <instance id>",
            )
            self.dev_box: DevBox | None = dev_box
        else:
            self.dev_box = None
        self.notebook = notebook
