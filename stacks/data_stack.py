"""The stateful Data stack: the environment's KMS key, its buckets and its package mirror."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.constructs.bucket_policies import restrict_bucket
from stacks.constructs.discovery import Discovery
from stacks.constructs.model_registry import model_package_group
from stacks.constructs.naming import model_package_group_name
from stacks.constructs.package_mirror import (
    REPOSITORY_NAME,
    PackageMirror,
    PackageMirrorProps,
    PackageMirrorRef,
    mirror_domain_name,
)
from stacks.constructs.storage import (
    AccessLogBucket,
    DataKey,
    DataKeyProps,
    SecureBucket,
    SecureBucketProps,
)


@dataclass(frozen=True, kw_only=True)
class DataStackProps:
    environment: str
    """Environment name; scopes the key alias, export names and SSM parameter paths."""
    noncurrent_version_expiration_days: int


@dataclass(frozen=True, kw_only=True)
class DataRefs:
    """The Data stack's key and buckets as another stack of the same Stage sees them."""

    key: kms.IKey
    data_bucket: s3.IBucket
    artifacts_bucket: s3.IBucket


class DataStack(Stack):
    """Everything that holds state; retained on delete, termination-protected where configured.

    Other stacks reach the key and buckets through `refs_for(stack)`, i.e. through exports with
    explicit names (sagestack-<env>-...): the names are a stable interface, a consumer's template
    reads `Fn::ImportValue: sagestack-dev-data-bucket-arn`, and its cdk-nag finding ids stay
    readable instead of embedding generated export names.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, props: DataStackProps, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        env = props.environment
        self._export_prefix = f"sagestack-{env}"

        data_key = DataKey(
            self,
            "DataKey",
            props=DataKeyProps(
                alias_name=f"alias/sagestack/{env}/data",
                description=f"SageStack {env}: buckets, SageMaker volumes and log groups",
            ),
        )
        self.key: kms.IKey = data_key.key
        self.access_log_bucket: s3.IBucket = AccessLogBucket(
            self,
            "AccessLogBucket",
            noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
        ).bucket
        self.data_bucket: s3.IBucket = self._bucket("DataBucket", "data/", props)
        self.artifacts_bucket: s3.IBucket = self._bucket("ArtifactsBucket", "artifacts/", props)

        # The model registry is state (approvals, lineage): it lives and is retained here, and
        # the Training stack registers into it by name.
        self.model_package_group_name = model_package_group_name(env)
        model_package_group(
            self,
            self.model_package_group_name,
            f"SageStack {env}: models that passed the training quality gate",
        )

        # A retained CodeArtifact mirror of PyPI: the notebook and the dev box install the SDK's
        # dependencies from it without internet.
        self.package_mirror = PackageMirror(
            self,
            "PackageMirror",
            props=PackageMirrorProps(domain_name=mirror_domain_name(env), key=self.key),
        )
        self._mirror_domain_name = mirror_domain_name(env)

        self._export("data-key-arn", self.key.key_arn)
        self._export("codeartifact-domain-arn", self.package_mirror.domain.attr_arn)
        self._export("codeartifact-repository-arn", self.package_mirror.repository.attr_arn)
        self._export("data-bucket-arn", self.data_bucket.bucket_arn)
        self._export("artifacts-bucket-arn", self.artifacts_bucket.bucket_arn)

        discovery = Discovery(self, "Discovery", environment=env)
        discovery.publish("data-bucket", self.data_bucket.bucket_name, "Training and input data")
        discovery.publish(
            "artifacts-bucket",
            self.artifacts_bucket.bucket_name,
            "Model artifacts, checkpoints, data capture, batch transform output",
        )
        discovery.publish(
            "access-log-bucket", self.access_log_bucket.bucket_name, "S3 server access logs"
        )
        discovery.publish("kms-key-arn", self.key.key_arn, "KMS key for data, volumes and logs")
        discovery.publish("kms-key-alias", data_key.alias.alias_name, "Alias of the KMS key")

    def _bucket(self, construct_id: str, log_prefix: str, props: DataStackProps) -> s3.IBucket:
        bucket = SecureBucket(
            self,
            construct_id,
            props=SecureBucketProps(
                encryption_key=self.key,
                noncurrent_version_expiration_days=props.noncurrent_version_expiration_days,
                server_access_logs_bucket=self.access_log_bucket,
                server_access_logs_prefix=log_prefix,
            ),
        ).bucket
        restrict_bucket(bucket, self.key)
        return bucket

    def _export_name(self, name: str) -> str:
        return f"{self._export_prefix}-{name}"

    def _export(self, name: str, value: str) -> None:
        construct_id = "".join(part.capitalize() for part in name.split("-")) + "Export"
        CfnOutput(self, construct_id, value=value, export_name=self._export_name(name))

    def refs_for(self, consumer: Stack) -> DataRefs:
        """Imports the key and buckets into `consumer` (once per consumer) by export name."""
        consumer.add_stack_dependency(self, "imports the data key and buckets by export name")
        key = kms.Key.from_key_arn(
            consumer, "DataKey", Fn.import_value(self._export_name("data-key-arn"))
        )

        def bucket(construct_id: str, export: str) -> s3.IBucket:
            return s3.Bucket.from_bucket_attributes(
                consumer,
                construct_id,
                bucket_arn=Fn.import_value(self._export_name(export)),
                encryption_key=key,
            )

        return DataRefs(
            key=key,
            data_bucket=bucket("DataBucket", "data-bucket-arn"),
            artifacts_bucket=bucket("ArtifactsBucket", "artifacts-bucket-arn"),
        )

    def package_mirror_for(self, consumer: Stack) -> PackageMirrorRef:
        """The package mirror as `consumer` reads it: names as literals (they are chosen here),
        ARNs imported by export name so the consumer cannot deploy before the mirror exists."""
        consumer.add_stack_dependency(self, "reads the package mirror by export name")
        return PackageMirrorRef(
            domain_name=self._mirror_domain_name,
            domain_owner=consumer.account,
            repository_name=REPOSITORY_NAME,
            domain_arn=Fn.import_value(self._export_name("codeartifact-domain-arn")),
            repository_arn=Fn.import_value(self._export_name("codeartifact-repository-arn")),
        )
