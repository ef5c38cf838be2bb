"""Data stack: key rotation, bucket protections, retention, discovery outputs, pinned ids."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from .conftest import ENVIRONMENTS, Synth

# Renaming any of these replaces (and with RETAIN, orphans) a stateful resource.
PINNED_DATA_LOGICAL_IDS = {
    "DataKey5CEB6F76": "AWS::KMS::Key",
    "DataKeyAlias8D31D4A0": "AWS::KMS::Alias",
    "AccessLogBucket99AA64AA": "AWS::S3::Bucket",
    "DataBucketB1A7365C": "AWS::S3::Bucket",
    "ArtifactsBucket278B01C3": "AWS::S3::Bucket",
    "ModelPackageGroup": "AWS::SageMaker::ModelPackageGroup",
    "PackageMirrorDomain9F6965BE": "AWS::CodeArtifact::Domain",
    "PackageMirrorRepository2937DEDC": "AWS::CodeArtifact::Repository",
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stateful_logical_ids_are_pinned(synth: Synth, env: str) -> None:
    resources = synth.template_json(env, "Data")["Resources"]
    assert {k: resources[k]["Type"] for k in PINNED_DATA_LOGICAL_IDS if k in resources} == (
        PINNED_DATA_LOGICAL_IDS
    )


def test_key_rotates_is_retained_and_has_an_alias(synth: Synth) -> None:
    template = synth.template("dev", "Data")
    template.has_resource(
        "AWS::KMS::Key",
        {
            "Properties": {"EnableKeyRotation": True},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/sagestack/dev/data"})


def test_key_admits_cloudwatch_logs_for_this_account_only(synth: Synth) -> None:
    synth.template("dev", "Data").has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowCloudWatchLogsInThisAccount",
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": Match.any_value()
                                    }
                                },
                            }
                        )
                    ]
                )
            }
        },
    )


def test_every_bucket_is_versioned_private_retained_and_expires_old_versions(synth: Synth) -> None:
    buckets = synth.resources("dev", "Data", "AWS::S3::Bucket")
    assert len(buckets) == 3
    for bucket in buckets.values():
        props = bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain"
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        rules = {rule["Id"]: rule for rule in props["LifecycleConfiguration"]["Rules"]}
        assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {
            "NoncurrentDays": 30
        }


def test_prod_keeps_noncurrent_versions_longer(synth: Synth) -> None:
    synth.template("prod", "Data").has_resource_properties(
        "AWS::S3::Bucket",
        {
            "LifecycleConfiguration": {
                "Rules": Match.array_with(
                    [Match.object_like({"NoncurrentVersionExpiration": {"NoncurrentDays": 90}})]
                )
            }
        },
    )


def test_data_and_artifacts_buckets_use_the_key_and_log_access(synth: Synth) -> None:
    resources = synth.template_json("dev", "Data")["Resources"]
    for logical_id, prefix in (
        ("DataBucketB1A7365C", "data/"),
        ("ArtifactsBucket278B01C3", "artifacts/"),
    ):
        props = resources[logical_id]["Properties"]
        (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert encryption["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey5CEB6F76", "Arn"]},
        }
        assert encryption["BucketKeyEnabled"] is True
        assert props["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": "AccessLogBucket99AA64AA"},
            "LogFilePrefix": prefix,
        }


def test_access_log_bucket_uses_sse_s3_as_log_delivery_requires(synth: Synth) -> None:
    props = synth.template_json("dev", "Data")["Resources"]["AccessLogBucket99AA64AA"]["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert "LoggingConfiguration" not in props


def test_every_bucket_denies_plain_http(synth: Synth) -> None:
    policies = synth.resources("dev", "Data", "AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )


def test_access_log_bucket_admits_s3_log_delivery_from_this_stack_buckets(synth: Synth) -> None:
    synth.template("dev", "Data").has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "Bucket": {"Ref": "AccessLogBucket99AA64AA"},
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "s3:PutObject",
                                "Principal": {"Service": "logging.s3.amazonaws.com"},
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize(("env", "protected"), [("dev", False), ("test", False), ("prod", True)])
def test_termination_protection_follows_config(synth: Synth, env: str, protected: bool) -> None:
    assert synth.stack_properties(env, "Data")["terminationProtection"] is protected
    assert synth.stack_properties(env, "Network")["terminationProtection"] is False


@pytest.mark.parametrize(
    "name", ["data-bucket", "artifacts-bucket", "access-log-bucket", "kms-key-arn", "kms-key-alias"]
)
def test_discovery_parameters_and_outputs(synth: Synth, name: str) -> None:
    template = synth.template("dev", "Data")
    template.has_resource_properties("AWS::SSM::Parameter", {"Name": f"/sagestack/dev/{name}"})
    outputs = synth.template_json("dev", "Data")["Outputs"]
    construct_id = "".join(part.capitalize() for part in name.split("-"))
    assert any(key.startswith(f"Discovery{construct_id}Output") for key in outputs)


def test_exports_have_stable_environment_scoped_names(synth: Synth) -> None:
    outputs = synth.template_json("test", "Data")["Outputs"]
    exports = sorted(o["Export"]["Name"] for o in outputs.values() if "Export" in o)
    assert exports == [
        "sagestack-test-artifacts-bucket-arn",
        "sagestack-test-codeartifact-domain-arn",
        "sagestack-test-codeartifact-repository-arn",
        "sagestack-test-data-bucket-arn",
        "sagestack-test-data-key-arn",
    ]


def test_stack_tags_come_from_config(synth: Synth) -> None:
    # Plus the environment tag the workbench roles' grants are scoped by.
    assert synth.stack_properties("prod", "Data")["tags"] == {
        "environment": "prod",
        "owner": "ml-platform",
        "project": "sagestack",
        "sagestack:environment": "prod",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_package_mirror_is_a_retained_pypi_mirror_encrypted_with_the_data_key(
    synth: Synth, env: str
) -> None:
    template = synth.template(env, "Data")
    retained = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}
    template.has_resource(
        "AWS::CodeArtifact::Domain",
        {
            "Properties": {
                "DomainName": f"sagestack-{env}",
                "EncryptionKey": {"Fn::GetAtt": ["DataKey5CEB6F76", "Arn"]},
            },
            **retained,
        },
    )
    template.has_resource(
        "AWS::CodeArtifact::Repository",
        {
            "Properties": Match.object_like(
                {
                    "RepositoryName": "pypi",
                    "DomainName": {"Fn::GetAtt": ["PackageMirrorDomain9F6965BE", "Name"]},
                    "ExternalConnections": ["public:pypi"],
                }
            ),
            **retained,
        },
    )
