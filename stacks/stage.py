"""One Stage per environment: Data, Network, Iam, DevEnvironment, Training, Serving; cdk-nag."""

from __future__ import annotations

from aws_cdk import Environment, Stage
from constructs import Construct

from sagestack.contract.tags import ENVIRONMENT_TAG
from stacks.config import EnvironmentConfig
from stacks.data_stack import DataStack, DataStackProps
from stacks.dev_environment_stack import DevEnvironmentStack, DevEnvironmentStackProps
from stacks.foundation import Foundation
from stacks.iam_stack import IamStack, IamStackProps
from stacks.nag import add_nag_packs
from stacks.network_stack import NetworkStack, NetworkStackProps
from stacks.serving_stack import ServingStack, ServingStackProps
from stacks.training_stack import TrainingStack, TrainingStackProps


def stage_id(environment: str) -> str:
    """Stage construct id; stacks are deployed as <stage id>-<stack id>, e.g. SageStack-dev-Data."""
    return f"SageStack-{environment}"


class SageStackStage(Stage):
    """Composes the stacks of one environment; Serving only when the config names a model."""

    def __init__(self, scope: Construct, *, config: EnvironmentConfig) -> None:
        env = None
        if not config.is_environment_agnostic:
            env = Environment(account=config.account, region=config.region)
        super().__init__(scope, stage_id(config.name), env=env)
        self.config = config
        name = config.name
        # The environment tag on every resource: the workbench roles' grants are scoped by it.
        tags = {**config.tags, ENVIRONMENT_TAG: name}

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
        foundation = Foundation(data=self.data, network=self.network, roles=self.iam)
        self.dev_environment = DevEnvironmentStack(
            self,
            "DevEnvironment",
            props=DevEnvironmentStackProps(
                environment=name, notebook=config.notebook, dev_box=config.dev_box
            ),
            foundation=foundation,
            description=f"SageStack {name}: notebook instance and EC2 dev box",
            tags=tags,
        )
        self.training = TrainingStack(
            self,
            "Training",
            props=TrainingStackProps(
                environment=name,
                training=config.training,
                log_retention_days=config.log_retention_days,
            ),
            foundation=foundation,
            description=f"SageStack {name}: training job definition and model registry",
            tags=tags,
        )
        self.serving: ServingStack | None = None
        if config.serving.has_model:
            self.serving = ServingStack(
                self,
                "Serving",
                props=ServingStackProps(
                    environment=name,
                    serving=config.serving,
                    log_retention_days=config.log_retention_days,
                ),
                foundation=foundation,
                description=f"SageStack {name}: endpoint and batch transform of the served model",
                tags=tags,
            )
        add_nag_packs(self)
