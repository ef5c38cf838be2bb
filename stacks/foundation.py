"""The Data, Network and Iam stacks of one stage, which the workload stacks build on."""

from __future__ import annotations

from dataclasses import dataclass

from stacks.data_stack import DataStack
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
