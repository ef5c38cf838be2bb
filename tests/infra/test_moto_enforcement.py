"""The notebook role's synthesized policies, enforced by moto's IAM authorization.

moto 5.2.5 evaluates identity policies when its authorization is on
(``set_initial_no_auth_action_count``), but only partly (moto/iam/access_control.py and
policy_conditions.py): actions always; resources for S3 (bucket and key ARNs) and IAM/STS/SQS,
"*" for every other service (so a statement scoped to a SageMaker or Step Functions ARN never
matches); conditions only with the StringEquals operator, and only for context keys it
supplies, which are none but sts:ExternalId. So S3 object-level rules are checked for real,
and no sagemaker:*, aws:RequestTag/ResourceTag, kms:ViaService, ec2:Vpc or aws:SourceVpc
condition is evaluated by anything on this machine: the last test pins that limit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3
from botocore.exceptions import ClientError

from .conftest import Synth
from .iam_analysis import policy_documents

REGION = "us-east-1"
DATA = "sagestack-dev-data-bucket-arn"
ARTIFACTS = "sagestack-dev-artifacts-bucket-arn"
"""The bucket names iam_analysis gives the imported bucket ARNs (valid S3 names)."""
SETUP_CALLS = 2 + 1 + 2 + 1
"""Unauthorized calls before enforcement: two buckets, the user, its two policies, its key."""


def _as_notebook(synth: Synth, check: Callable[[boto3.Session], None]) -> None:
    """Runs `check` with a session whose user holds exactly the notebook role's policies from
    the dev Iam stack, inside moto with authorization on."""
    from moto import mock_aws
    from moto.core import set_initial_no_auth_action_count

    documents = [
        document
        for name, document in policy_documents(synth.template_json("dev", "Iam"))
        if name.startswith("JobRolesNotebookRole")
    ]
    assert len(documents) == 2  # its DefaultPolicy and its SageMaker managed policy

    @set_initial_no_auth_action_count(SETUP_CALLS)
    def run() -> None:
        # moto's setup calls, before enforcement starts; any key works.
        admin = boto3.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
        )
        s3 = admin.client("s3")
        for bucket in (DATA, ARTIFACTS):
            s3.create_bucket(Bucket=bucket)
        iam = admin.client("iam")
        iam.create_user(UserName="notebook")
        for index, document in enumerate(documents):
            iam.put_user_policy(
                UserName="notebook", PolicyName=f"p{index}", PolicyDocument=json.dumps(document)
            )
        key = iam.create_access_key(UserName="notebook")["AccessKey"]
        check(
            boto3.Session(
                aws_access_key_id=key["AccessKeyId"],
                aws_secret_access_key=key["SecretAccessKey"],
                region_name=REGION,
            )
        )

    with mock_aws():
        run()


def _denied(call: Any, **kwargs: Any) -> bool:
    try:
        call(**kwargs)
    except ClientError as error:
        # S3 says AccessDenied in the code; moto's JSON services put a 403 there and the
        # AccessDenied XML in the message.
        found = error.response["Error"]
        return found.get("Code") == "AccessDenied" or (
            "<Code>AccessDenied</Code>" in found.get("Message", "")
        )
    return False


def test_people_write_the_sdk_prefix_but_not_the_served_models(synth: Synth) -> None:
    """Item 4, evaluated by moto: training/models/ is the training role's."""

    def check(session: boto3.Session) -> None:
        s3 = session.client("s3")
        s3.put_object(Bucket=ARTIFACTS, Key="training/sdk/code/abc/sourcedir.tar.gz", Body=b"x")
        s3.put_object(Bucket=DATA, Key="train/part.csv", Body=b"1,2\n")
        assert _denied(
            s3.put_object,
            Bucket=ARTIFACTS,
            Key="training/models/job/output/model.tar.gz",
            Body=b"x",
        )

    _as_notebook(synth, check)


def test_people_cannot_destroy_an_object_version(synth: Synth) -> None:
    def check(session: boto3.Session) -> None:
        s3 = session.client("s3")
        s3.put_object(Bucket=DATA, Key="train/part.csv", Body=b"1,2\n")
        assert _denied(s3.delete_object, Bucket=DATA, Key="train/part.csv", VersionId="v1")
        s3.delete_object(Bucket=DATA, Key="train/part.csv")  # a delete marker: allowed

    _as_notebook(synth, check)


def _training_job(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/x:1",
            "TrainingInputMode": "File",
        },
        "RoleArn": "arn:aws:iam::123456789012:role/training",
        "OutputDataConfig": {"S3OutputPath": f"s3://{ARTIFACTS}/training/models"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
        **extra,
    }


def test_moto_cannot_tell_the_exfiltration_job_from_the_sdks(synth: Synth) -> None:
    """The limit of this emulator for issue 17 item 1: moto authorizes SageMaker calls against
    Resource "*" only, so every statement scoped to training-job/* is neutral to it and both the
    exfiltration request (no VpcConfig, no isolation, no key, no tag) and the SDK's own (all of
    them) are refused alike; it never reaches the sagemaker:* conditions. Those are pinned by
    the template tests (test_exfiltration_guards.py) and checked against IAM's action/condition
    table by parliament (test_iam_analysis.py), and nothing here evaluates them."""

    def check(session: boto3.Session) -> None:
        sagemaker = session.client("sagemaker")
        sdk_like = _training_job(
            "sdk",
            VpcConfig={"SecurityGroupIds": ["sg-1"], "Subnets": ["subnet-1"]},
            EnableNetworkIsolation=True,
            EnableInterContainerTrafficEncryption=True,
            Tags=[{"Key": "sagestack:environment", "Value": "dev"}],
        )
        assert _denied(sagemaker.create_training_job, **_training_job("exfiltration"))
        assert _denied(sagemaker.create_training_job, **sdk_like)
        # Authorization is on and does allow: a statement on Resource "*" (ListTrainingJobs).
        sagemaker.list_training_jobs()

    _as_notebook(synth, check)
