"""The Iam stack: the execution roles of every SageMaker job kind (stateless, no data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.constructs.discovery import Discovery
from stacks.constructs.job_roles import JobRoles, JobRolesProps
from stacks.data_stack import DataRefs, DataStack
from stacks.network_stack import NetworkStack


def job_roles_props(environment: str, refs: DataRefs, network: NetworkStack) -> JobRolesProps:
    """The job roles' props from one consumer stack's imports of the data key and buckets."""
    return JobRolesProps(
        environment=environment,
        data_bucket=refs.data_bucket,
        artifacts_bucket=refs.artifacts_bucket,
        key=refs.key,
        vpc=network.vpc,
        subnets=network.subnets,
        security_group=network.security_group,
    )


@dataclass(frozen=True, kw_only=True)
class IamStackProps:
    environment: str


class IamStack(Stack):
    """Exposes `training_role`, `model_role` and `notebook_role`. The state machines have roles
    of their own (CDK's, in their stacks), so no Step Functions role lives here."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        props: IamStackProps,
        data: DataStack,
        network: NetworkStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        refs = data.refs_for(self)
        roles = JobRoles(self, "JobRoles", props=job_roles_props(props.environment, refs, network))
        self.training_role: iam.IRole = roles.training_role
        self.model_role: iam.IRole = roles.model_role
        self.notebook_role: iam.IRole = roles.notebook_role
        # A Serving stack deployed before network isolation became the default imports the
        # model role's name (the code-asset grant of a non-isolated model). Keeping the export
        # lets this stack deploy first, with one `cdk deploy --all` (CloudFormation refuses to
        # remove an export that is still imported); the CDK guide's Stack.exportValue recipe.
        # Remove it once every deployed Serving stack has been updated.
        self.export_value(self.model_role.role_name)

        discovery = Discovery(self, "Discovery", environment=props.environment)
        discovery.publish("training-role-arn", self.training_role.role_arn, "Training job role")
        discovery.publish("model-role-arn", self.model_role.role_arn, "Model/endpoint role")
        discovery.publish("notebook-role-arn", self.notebook_role.role_arn, "Notebook role")
