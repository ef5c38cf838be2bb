"""The Data, Network and Iam stacks of one stage, which the workload stacks build on."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Stack

from stacks.data_stack import DataRefs, DataStack
from stacks.iam_stack import IamStack
from stacks.network_stack import NetworkStack


@dataclass(frozen=True, kw_only=True)
class Foundation:
    """What DevEnvironment, Training and Serving take from their stage's foundation stacks."""

    data: DataStack
    """The key and buckets, imported by export name through `data.refs_for(stack)`."""
    network: NetworkStack
    """The isolated subnets and the workload security group."""
    roles: IamStack
    """The execution roles per SageMaker job kind."""

    def job_stack_refs(self, stack: Stack, *, role_use: str) -> DataRefs:
        """Makes a job stack (Training, Serving) depend on all three; returns its data imports.

        `role_use` says, for the dependency on the Iam stack, what the stack does with a role.
        """
        refs = self.data.refs_for(stack)
        stack.add_stack_dependency(
            self.network, "uses the isolated subnets and workload security group"
        )
        stack.add_stack_dependency(self.roles, role_use)
        return refs
