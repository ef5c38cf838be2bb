"""Publishes a value both as a stack output and as an SSM parameter the SDK can read."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from sagestack.contract.discovery import parameter_name


class Discovery(Construct):
    """The values of one stack that the SDK and operators look up (`name` is kebab-case)."""

    def __init__(self, scope: Construct, construct_id: str, *, environment: str) -> None:
        super().__init__(scope, construct_id)
        self._environment = environment

    def publish(self, name: str, value: str, description: str) -> None:
        construct_id = "".join(part.capitalize() for part in name.split("-"))
        ssm.StringParameter(
            self,
            construct_id,
            parameter_name=parameter_name(self._environment, name),
            string_value=value,
            description=description,
        )
        CfnOutput(self, f"{construct_id}Output", value=value, description=description)
