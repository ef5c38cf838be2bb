"""The encryption key and the buckets that hold data, artifacts and their access logs."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.nag import acknowledge_nist_hipaa

REPLICATION_REASON = (
    "Single-region by design: versioning, noncurrent-version retention and RemovalPolicy.RETAIN "
    "protect against deletion and overwrite; cross-region replication needs a second region and "
    "a replica key, which no SageStack environment defines yet."
)


@dataclass(frozen=True, kw_only=True)
class DataKeyProps:
    alias_name: str
    """KMS alias, e.g. alias/sagestack/dev/data."""
    description: str


class DataKey(Construct):
    """The customer-managed key for buckets, volumes and log groups of one environment.

    Rotation is on; the key is retained because everything encrypted with it outlives the stack.
    """

    def __init__(self, scope: Construct, construct_id: str, *, props: DataKeyProps) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Resource",
            description=props.description,
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
            pending_window=Duration.days(30),
        )
        self.alias = self.key.add_alias(props.alias_name)
        # CloudWatch Logs encrypts a log group with a CMK only if the key policy lets the regional
        # service principal use it, scoped here to log groups of this account and region.
        stack = Stack.of(self)
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsInThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )


@dataclass(frozen=True, kw_only=True)
class SecureBucketProps:
    encryption_key: kms.IKey | None
    """The CMK for default encryption. None means SSE-S3, only for server-access-log targets."""
    noncurrent_version_expiration_days: int
    """Noncurrent object versions are deleted this many days after they were replaced."""
    server_access_logs_bucket: s3.IBucket | None = None
    """Where S3 delivers this bucket's access logs; None only for the log bucket itself."""
    server_access_logs_prefix: str | None = None
    """Key prefix of this bucket's logs in the log bucket, e.g. 'data/'."""


class SecureBucket(Construct):
    """A retained, versioned, SSL-only, private bucket with default encryption and lifecycle."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SecureBucketProps) -> None:
        super().__init__(scope, construct_id)
        key = props.encryption_key
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.KMS if key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=key,
            bucket_key_enabled=key is not None,
            versioned=True,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=props.server_access_logs_bucket,
            server_access_logs_prefix=props.server_access_logs_prefix,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(
                        props.noncurrent_version_expiration_days
                    ),
                    expired_object_delete_marker=True,
                ),
                s3.LifecycleRule(
                    id="AbortIncompleteMultipartUploads",
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                ),
            ],
        )
        acknowledge_nist_hipaa(self.bucket, "S3BucketReplicationEnabled", REPLICATION_REASON)


class AccessLogBucket(SecureBucket):
    """The destination of S3 server access logs: SSE-S3, as S3 requires, and no logging of its own.

    cdk-nag recognises a bucket whose policy admits logging.s3.amazonaws.com as a log
    destination, so only its encryption needs an acknowledgement.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, noncurrent_version_expiration_days: int
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            props=SecureBucketProps(
                encryption_key=None,
                noncurrent_version_expiration_days=noncurrent_version_expiration_days,
            ),
        )
        sse_s3 = (
            "S3 server access logging delivers only to destination buckets whose default "
            "encryption is SSE-S3 (AES256); SSE-KMS is not supported (S3 User Guide, 'Enabling "
            "Amazon S3 server access logging'). Objects are still encrypted at rest."
        )
        acknowledge_nist_hipaa(self.bucket, "S3DefaultEncryptionKMS", sse_s3)
