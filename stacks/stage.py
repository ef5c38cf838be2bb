"""One Stage per environment: the Data, Network, Iam and DevEnvironment stacks plus cdk-nag."""

from __future__ import annotations

from aws_cdk import Environment, Stage
from constructs import Construct

from stacks.config import EnvironmentConfig
from stacks.data_stack import DataStack, DataStackProps
from stacks.dev_environment_stack import DevEnvironmentStack, DevEnvironmentStackProps
from stacks.iam_stack import IamStack, IamStackProps
from stacks.nag import add_nag_packs
from stacks.network_stack import NetworkStack, NetworkStackProps


def stage_id(environment: str) -> str:
    """Stage construct id; stacks are deployed as <stage id>-<stack id>, e.g. SageStack-dev-Data."""
    return f"SageStack-{environment}"


class SageStackStage(Stage):
    """Composes the stacks of one environment; later work adds Training and Serving here."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        env = None
        if not config.is_environment_agnostic:
            env = Environment(account=config.account, region=config.region)
        super().__init__(scope, stage_id(config.name), env=env)
        self.config = config
        name = config.name
        tags = dict(config.tags)

        self.data = DataStack(
            self,
            "Data",
            props=DataStackProps(
                environment=name,
                noncurrent_version_expiration_days=config.noncurrent_version_expiration_days,
            ),
            description=f"SageStack {name}: KMS key and S3 buckets (stateful, retained)",
            termination_protection=config.termination_protection,
            tags=tags,
        )
        self.network = NetworkStack(
            self,
            "Network",
            props=NetworkStackProps(
                environment=name,
                vpc_cidr=config.network.vpc_cidr,
                max_azs=config.network.max_azs,
                availability_zones=config.network.availability_zones,
                log_retention_days=config.log_retention_days,
                session_manager_endpoints=config.dev_box.enabled,
            ),
            data=self.data,
            description=f"SageStack {name}: isolated VPC, endpoints, flow logs",
            tags=tags,
        )
        self.iam = IamStack(
            self,
            "Iam",
            props=IamStackProps(environment=name),
            data=self.data,
            network=self.network,
            description=f"SageStack {name}: execution roles per SageMaker job kind",
            tags=tags,
        )
        self.dev_environment = DevEnvironmentStack(
            self,
            "DevEnvironment",
            props=DevEnvironmentStackProps(
                environment=name, notebook=config.notebook, dev_box=config.dev_box
            ),
            data=self.data,
            network=self.network,
            roles=self.iam,
            description=f"SageStack {name}: notebook instance and EC2 dev box",
            tags=tags,
        )
        add_nag_packs(self)
