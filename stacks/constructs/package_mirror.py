"""A CodeArtifact mirror of PyPI, the only package index machines in the isolated VPC can reach."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

PYPI_EXTERNAL_CONNECTION = "public:pypi"
REPOSITORY_NAME = "pypi"
"""The repository pip reads; it fetches from PyPI on a miss and keeps every version it served."""


def mirror_domain_name(environment: str) -> str:
    """CodeArtifact requires a domain name (unique per account and region): one per environment."""
    return f"sagestack-{environment}"


@dataclass(frozen=True, kw_only=True)
class PackageMirrorProps:
    domain_name: str
    key: kms.IKey
    """Encrypts the domain's package assets."""


class PackageMirror(Construct):
    """Domain and repository, retained: the packages it cached stay installable after a redeploy
    even if PyPI drops a version."""

    def __init__(self, scope: Construct, construct_id: str, *, props: PackageMirrorProps) -> None:
        super().__init__(scope, construct_id)
        self.domain = codeartifact.CfnDomain(
            self, "Domain", domain_name=props.domain_name, encryption_key=props.key.key_arn
        )
        self.repository = codeartifact.CfnRepository(
            self,
            "Repository",
            # The attribute, not the literal, so CloudFormation creates the domain first.
            domain_name=self.domain.attr_name,
            repository_name=REPOSITORY_NAME,
            description="PyPI through CodeArtifact for machines without internet access",
            external_connections=[PYPI_EXTERNAL_CONNECTION],
        )
        for resource in (self.domain, self.repository):
            resource.apply_removal_policy(RemovalPolicy.RETAIN)


@dataclass(frozen=True, kw_only=True)
class PackageMirrorRef:
    """The mirror as a consumer stack sees it: names for pip's login, ARNs for the grants."""

    domain_name: str
    domain_owner: str
    """The account id that owns the domain (`--domain-owner`)."""
    repository_name: str
    domain_arn: str
    repository_arn: str

    def read_statements(self) -> list[iam.PolicyStatement]:
        """What `pip install` from the mirror needs, and nothing to publish or administer."""
        return [
            iam.PolicyStatement(
                actions=["codeartifact:GetAuthorizationToken"], resources=[self.domain_arn]
            ),
            iam.PolicyStatement(
                actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                resources=[self.repository_arn],
            ),
            # GetAuthorizationToken mints the token through STS; the condition keeps this bearer
            # token grant to CodeArtifact's.
            iam.PolicyStatement(
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            ),
        ]
