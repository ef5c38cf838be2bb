"""VPC endpoint policies: what the isolated VPC may reach through each endpoint.

An endpoint policy is a resource policy of the endpoint: a request through it must be allowed
by it as well as by the caller's identity policy, so a compromised notebook cannot use the
endpoint to reach another account's bucket or to use another account's credentials.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

ECR_LAYER_BUCKET = "prod-{region}-starport-layer-bucket"
"""Where ECR serves image layers from (Amazon ECR user guide, "Minimum Amazon S3 bucket
permissions for Amazon ECR"): SageMaker pulls the XGBoost image through this VPC."""
AL2023_REPOSITORY_BUCKET = "al2023-repos-{region}-de612dc2"
"""The S3 bucket that serves Amazon Linux 2023's dnf repositories in a region (AL2023 user
guide); the dev box installs Python 3.11 from it, and the notebook (notebook-al2023-v1) its
OS packages."""
AWS_OWNED_BUCKETS = (ECR_LAYER_BUCKET, AL2023_REPOSITORY_BUCKET)
"""Every AWS-owned bucket the VPC needs. Not CodeArtifact's asset buckets: the CodeArtifact user
guide ("Create the Amazon S3 gateway endpoint") says an S3 endpoint is not needed for Python
packages, which the mirror serves through codeartifact.repositories. Not the SSM agent's
buckets: Session Manager needs none (only agent self-update and patching use them)."""


def s3_gateway_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """The S3 gateway endpoint: this account's buckets with this account's principals, and
    read-only the AWS-owned buckets above.

    - ``ThisAccountsBuckets`` lets through every S3 call where both the bucket and the caller
      belong to this account (the data, artifacts and log buckets, the CDK asset bucket the SDK
      wheel comes from). It stops a copy to a bucket elsewhere, the classic exfiltration.
    - ``AwsOwnedBuckets`` lets through GetObject only, on the objects of the buckets in
      AWS_OWNED_BUCKETS. No principal condition: ECR's layer downloads are pre-signed by ECR
      and dnf's repository reads are anonymous.
    """
    account = stack.account
    owned = [
        f"arn:{stack.partition}:s3:::{name.format(region=stack.region)}/*"
        for name in AWS_OWNED_BUCKETS
    ]
    return [
        iam.PolicyStatement(
            sid="ThisAccountsBuckets",
            principals=[iam.AnyPrincipal()],
            actions=["s3:*"],
            resources=["*"],
            conditions={
                "StringEquals": {"aws:ResourceAccount": account, "aws:PrincipalAccount": account}
            },
        ),
        iam.PolicyStatement(
            sid="AwsOwnedBuckets",
            principals=[iam.AnyPrincipal()],
            actions=["s3:GetObject"],
            resources=owned,
        ),
    ]


def interface_statement(stack: Stack) -> iam.PolicyStatement:
    """Every interface endpoint: any call, but only with this account's credentials
    (aws:PrincipalAccount). Resources stay open: the XGBoost image is in an AWS account, and the
    services' own policies and the roles' grants scope the rest."""
    return iam.PolicyStatement(
        sid="ThisAccountsPrincipals",
        principals=[iam.AnyPrincipal()],
        actions=["*"],
        resources=["*"],
        conditions={"StringEquals": {"aws:PrincipalAccount": stack.account}},
    )
