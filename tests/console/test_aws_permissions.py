"""The console's AWS mode needs no permission the notebook role lacks.

The set of actions is derived, not listed: a walk through every AWS-mode page and form (against
moto_server) records each API call boto3 makes (botocore's ``before-parameter-build`` event),
each is mapped to its IAM action, and the notebook role's synthesized policy (the dev Stage's
Iam stack) must allow every one on a resource of the right kind. The README's list must be that
same set. Only action names and resource kinds are checked, so conditions tightened elsewhere
still pass.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber
from reliability.cfn_emulator import stacks_of
from script_dirs import REPO
from starlette.testclient import TestClient

from console.conftest import BASE, HOST, PORT, csrf
from console.moto_env import ENV
from console.test_aws_routes import _start, make_endpoint
from sagestack.console import create_app
from sagestack.contract.discovery import PUBLISHING_STACKS
from sagestack.deployed.connection import Connection
from sagestack.deployed.training import execution_job_suffix

# Calls whose IAM action is not "<signing name>:<operation>" (Service Authorization Reference).
ACTION_OF = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
}
# sts:GetCallerIdentity needs no permission: AWS answers it for every principal.
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# The resource kind each action must be allowed on (a fragment of the policy's resource).
RESOURCE_OF = {
    "sagemaker:DescribeTrainingJob": ":training-job/",
    "sagemaker:StopTrainingJob": ":training-job/",
    "sagemaker:DescribeEndpoint": ":endpoint/",
    "sagemaker:InvokeEndpoint": ":endpoint/",
    "sagemaker:DescribeEndpointConfig": ":endpoint-config/",
    "sagemaker:DescribeModelPackage": ":model-package/",
    "sagemaker:UpdateModelPackage": ":model-package/",
    "states:ListExecutions": ":stateMachine:",
    "states:StartExecution": ":stateMachine:",
    "states:DescribeExecution": ":execution:",
    "states:GetExecutionHistory": ":execution:",
    "logs:DescribeLogStreams": ':log-group:/aws/sagemaker/TrainingJobs"',
    "logs:GetLogEvents": ":log-group:/aws/sagemaker/TrainingJobs:log-stream:*",
    "ssm:GetParametersByPath": f":parameter/sagestack/{ENV}",
    "s3:PutObject": f"sagestack-{ENV}-data-bucket-arn",
    "s3:GetObject": f"sagestack-{ENV}-data-bucket-arn",
    "s3:ListBucket": f"sagestack-{ENV}-data-bucket-arn",
    "kms:GenerateDataKey": f"sagestack-{ENV}-data-key-arn",
}


class Recorder:
    """The IAM action of every call made through a session it is registered on."""

    def __init__(self) -> None:
        self.actions: set[str] = set()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.signing_name
        action = ACTION_OF.get((service, model.name), f"{service}:{model.name}")
        self.actions.add(action)
        if service == "s3" and params.get("SSEKMSKeyId"):
            self.actions.add("kms:GenerateDataKey")  # S3 asks KMS for the data key as the caller


@pytest.fixture
def walked(aws_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every AWS-mode page and form, once, through a recording session."""
    recorder = Recorder()

    def session(self: Connection) -> boto3.Session:
        made = boto3.Session(profile_name=self.profile, region_name=self.region)
        made.events.register("before-parameter-build", recorder)
        return made

    monkeypatch.setattr(Connection, "session", session)
    connection = Connection.open(ENV)
    app = create_app(HOST, PORT, max_upload_bytes=2 << 20, connection=connection)
    with TestClient(app, base_url=BASE) as client:
        arn = _start(client, aws_env, "walk-1", tmp_path, rows=47)  # rows no other test sends
        _, package = aws_env.play_execution(arn, log_lines=("[0]\tvalidation-auc:0.9",))
        make_endpoint(aws_env, "sagestack-walk-endpoint")
        requests.post(
            f"{aws_env.url}/moto-api/static/sagemaker/endpoint-results",
            json={"results": [{"Body": "[0.5]", "ContentType": "application/json"}]},
            timeout=10,
        ).raise_for_status()
        for page in ("/training-jobs", "/training-jobs/walk-1", "/registry", "/endpoints"):
            assert client.get(page).status_code == 200, page
        log = re.search(r'log\?offset=([^"]+)"', client.get("/training-jobs/walk-1").text)
        assert log and client.get(f"/training-jobs/walk-1/log?offset={log.group(1)}").is_success
        assert client.get("/training-jobs/walk-1/status").is_success
        token = csrf(client, "/endpoints/sagestack-walk-endpoint")
        invoked = client.post(
            "/endpoints/sagestack-walk-endpoint/invoke",
            data={"body": "1,2,3,4", "content_type": "text/csv"},
            headers={"X-CSRF-Token": token},
        )
        assert 'id="invoke-status">200<' in invoked.text
        approved = client.post(
            "/registry/approval",
            data={"csrf_token": token, "arn": package, "decision": "Approved", "description": "ok"},
            follow_redirects=False,
        )
        assert approved.status_code == 303
        # moto has no StopTrainingJob: a Stubber answers it (the recorder still sees the call).
        job = f"sagestack-train-{execution_job_suffix(arn)}"
        sagemaker = connection.client("sagemaker")
        described = sagemaker.describe_training_job(TrainingJobName=job)
        with Stubber(sagemaker) as stubbed_sagemaker:
            stubbed_sagemaker.add_response(
                "list_training_jobs",
                {"TrainingJobSummaries": [{k: described[k] for k in SUMMARY_KEYS}]},
            )
            described |= {"TrainingJobStatus": "InProgress"}
            described.pop("ResponseMetadata", None)
            stubbed_sagemaker.add_response("describe_training_job", described)
            stubbed_sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": job})
            stopped = client.post(
                "/training-jobs/walk-1/stop", data={"csrf_token": token}, follow_redirects=False
            )
            assert stopped.status_code == 303
    return recorder.actions


SUMMARY_KEYS = ("TrainingJobName", "TrainingJobArn", "CreationTime", "TrainingJobStatus")


def _notebook_statements(assembly: Path) -> list[dict[str, Any]]:
    iam = next(
        s
        for s in stacks_of(assembly / f"assembly-SageStack-{ENV}")
        if s.display_name.endswith("/Iam")
    )
    # Its DefaultPolicy and the managed policy of its conditioned SageMaker calls.
    policies = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for logical_id, r in iam.template["Resources"].items()
        if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        and logical_id.startswith("JobRolesNotebookRole")
    ]
    assert len(policies) == 2, "the notebook role has a DefaultPolicy and a SageMakerPolicy"
    return [s for policy in policies for s in policy if s["Effect"] == "Allow"]


def _allows(statement: dict[str, Any], action: str) -> bool:
    actions = (
        statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    )
    return any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in actions)


def readme_actions() -> set[str]:
    text = (REPO / "README.md").read_text()
    listed = re.search(r"AWS actions the\s+console calls[^\n]*:\n\n((?:- [^\n]*\n)+)", text)
    assert listed, "README: the list of AWS actions the console calls"
    return set(re.findall(r"`([a-z0-9-]+:[A-Za-z]+)`", listed.group(1)))


def test_the_notebook_role_allows_every_call_the_aws_console_makes(
    walked: set[str], moto_assembly: Path
) -> None:
    needed = walked - NEEDS_NO_PERMISSION
    assert {"sagemaker:UpdateModelPackage", "states:StartExecution", "s3:PutObject"} <= needed
    statements = _notebook_statements(moto_assembly)
    missing = []
    for action in sorted(needed):
        granting = [s for s in statements if _allows(s, action)]
        kind = RESOURCE_OF.get(action, "")
        if not any(kind in json.dumps(s["Resource"]) or s["Resource"] == "*" for s in granting):
            missing.append(f"{action} on {kind or 'any resource'}")
    assert not missing, "the notebook role lacks:\n" + "\n".join(missing)
    assert readme_actions() == walked, "README lists exactly the actions the console calls"


def test_the_banners_stacks_are_stacks_of_the_stage(moto_assembly: Path) -> None:
    found = {
        s.display_name.rsplit("/", 1)[-1]
        for stage in ("dev", "test", "prod")
        for s in stacks_of(moto_assembly / f"assembly-SageStack-{stage}")
    }
    # Serving is synthesized only where config names a model (none of the three here).
    assert set(PUBLISHING_STACKS) - {"Serving"} <= found
