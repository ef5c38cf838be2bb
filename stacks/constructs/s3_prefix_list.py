"""The region's S3 prefix list id, looked up when the stack deploys, so egress can name it.

Security-group egress to S3 through the gateway endpoint has to name the AWS-managed prefix list
``com.amazonaws.<region>.s3``. Its id differs per region and is not known at synth, and synth
stays offline (no context lookups), so a custom resource asks EC2
(DescribeManagedPrefixLists) once at deploy time.
"""

from __future__ import annotations

from aws_cdk import Aws, Stack
from aws_cdk import custom_resources as cr
from constructs import Construct

from stacks.nag import acknowledge, acknowledge_nist_hipaa

_ID_PATH = "PrefixLists.0.PrefixListId"

# cdk-nag's rule ids for the provider function CDK makes for AwsCustomResource.
_PROVIDER_EVIDENCE = {
    "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
    "AWSLambdaBasicExecutionRole]": (
        "The AwsCustomResource provider's role has AWSLambdaBasicExecutionRole (its own logs "
        "only); CDK creates that role and its policy, and it runs one read-only EC2 call."
    ),
}
_PROVIDER_NIST_HIPAA = {
    "LambdaConcurrency": "Runs once per deploy of the Network stack; no traffic to cap.",
    "LambdaDLQ": "Invoked synchronously by CloudFormation, which reports a failure itself.",
    "CloudWatchLogGroupEncrypted": (
        "The provider's log group holds only the lookup's request and answer (a public "
        "prefix-list id), no data of the environment."
    ),
    "LambdaInsideVPC": (
        "It calls the EC2 API at deploy time; inside the isolated VPC it would need an EC2 "
        "endpoint that nothing else uses. It reads one public prefix-list id, no data."
    ),
}


class S3PrefixList(Construct):
    """``prefix_list_id``: this region's S3 prefix list, resolved when the stack deploys."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        call = cr.AwsSdkCall(
            service="EC2",
            action="describeManagedPrefixLists",
            parameters={
                "Filters": [
                    {"Name": "prefix-list-name", "Values": [f"com.amazonaws.{Aws.REGION}.s3"]}
                ]
            },
            physical_resource_id=cr.PhysicalResourceId.of(f"s3-prefix-list-{Aws.REGION}"),
            output_paths=[_ID_PATH],
        )
        lookup = cr.AwsCustomResource(
            self,
            "Lookup",
            on_update=call,
            # ec2:DescribeManagedPrefixLists has no resource type (Service Authorization Reference).
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )
        self.prefix_list_id: str = lookup.get_response_field(_ID_PATH)
        policy = lookup.node.find_child("CustomResourcePolicy")
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "ec2:DescribeManagedPrefixLists, the policy's one action, has no resource type "
            "(Service Authorization Reference), so IAM accepts only Resource *.",
        )
        acknowledge_nist_hipaa(
            policy,
            "IAMNoInlinePolicy",
            "CDK's AwsCustomResource policy: one read-only action, attached to the provider's "
            "role alone and deleted with it.",
        )
        _acknowledge_provider(Stack.of(self))


def _acknowledge_provider(stack: Stack) -> None:
    """The provider function is a singleton at the stack's root, shared by every lookup."""
    provider = next(
        child
        for child in stack.node.children
        if child.node.id.startswith("AWS679f53fac002430cb0da5b7982bd2287")
    )
    for rule, reason in _PROVIDER_EVIDENCE.items():
        acknowledge(provider, rule, reason)
    for rule, reason in _PROVIDER_NIST_HIPAA.items():
        acknowledge_nist_hipaa(provider, rule, reason)
