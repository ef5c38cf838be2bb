"""The console's AWS mode against the dev environment deployed into moto_server on loopback.

Everything goes through boto3 to moto, except where moto lacks the call: StopTrainingJob and an
expired-token answer from STS are a botocore Stubber on the console's own client, named
``stubbed_*`` below. moto does not run state machines, so ``play_execution`` creates what the
Training state machine would (console/moto_env.py).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber
from starlette.testclient import TestClient

from console.conftest import BASE, HOST, PORT, csrf, make_csv, submit
from sagestack.console import create_app
from sagestack.deployed.connection import Connection
from sagestack.deployed.training import execution_arn, execution_job_suffix

HYPERPARAMETERS = {
    "hp_name_1": "objective",
    "hp_value_1": "binary:logistic",
    "hp_name_2": "num_round",
    "hp_value_2": "20",
}


def _start(client: TestClient, env: Any, name: str, tmp_path: Any, rows: int = 40) -> str:
    """Create a run through the form with both channels uploaded; its execution ARN. (Uploads
    are content-addressed: the same rows again are found in the bucket and not re-sent.)"""
    token = csrf(client, "/training-jobs/create")
    train = make_csv(tmp_path / f"{name}-train.csv", rows=rows, header=False)
    validation = make_csv(tmp_path / f"{name}-validation.csv", rows=20, header=False)
    response = client.post(
        "/training-jobs/create",
        data={
            "csrf_token": token,
            "run_name": name,
            "instance_type": "ml.m5.large",
            "instance_count": "1",
            **HYPERPARAMETERS,
        },
        files={
            "train_file": ("train.csv", train.read_bytes(), "text/csv"),
            "validation_file": ("validation.csv", validation.read_bytes(), "text/csv"),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/training-jobs/{name}"
    return str(execution_arn(Connection.open("dev").platform(), name))


def _executions(env: Any) -> list[str]:
    machine = env.values["training-state-machine-arn"]
    listed = env.client("stepfunctions").list_executions(stateMachineArn=machine)
    return [e["name"] for e in listed["executions"]]


def test_the_banner_shows_account_region_caller_and_stacks(aws_client: TestClient) -> None:
    html = aws_client.get("/training-jobs").text
    assert 'id="banner-account">123456789012<' in html
    assert 'id="banner-region">us-east-1<' in html
    assert re.search(r'id="banner-caller">arn:aws:(sts|iam)::123456789012:', html)
    for stack in ("Data", "Network", "Iam", "Training"):  # found by their SSM parameters
        assert f'title="SageStack-dev-{stack}">{stack} <span class="badge s-deployed"' in html
    assert 'title="SageStack-dev-Serving">Serving <span class="badge s-absent"' in html
    assert "console · dev on AWS" in html


def test_no_credentials_gives_a_page_saying_what_to_run(
    aws_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    app = create_app(HOST, PORT, connection=Connection.open("dev"))
    with TestClient(app, base_url=BASE) as client:
        page = client.get("/training-jobs")
    assert page.status_code == 401
    assert "No AWS credentials found" in page.text
    assert "aws sso login --profile NAME" in page.text
    assert "Traceback" not in page.text


def test_an_unknown_profile_says_how_to_create_it(aws_env: Any) -> None:
    app = create_app(HOST, PORT, connection=Connection.open("dev", profile="team-dev"))
    with TestClient(app, base_url=BASE) as client:
        page = client.get("/registry")
    assert page.status_code == 401
    assert "The AWS profile &#39;team-dev&#39; is not in ~/.aws/config." in page.text
    assert (
        '<pre class="code" id="credentials-command">aws configure sso --profile team-dev'
        in page.text
    )


def test_stubbed_expired_token_says_sso_login_with_the_profile(aws_env: Any) -> None:
    """moto accepts any key, so STS's ExpiredToken answer is a botocore Stubber."""
    connection = Connection.open("dev", profile="team-dev")
    # The keys in the environment stand in for the profile's (moto has no SSO to sign in to).
    connection.session = lambda: boto3.Session()  # type: ignore[method-assign]
    sts = connection.client("sts")
    with Stubber(sts) as stubbed_sts:
        stubbed_sts.add_client_error(
            "get_caller_identity", "ExpiredToken", "The security token included has expired"
        )
        with TestClient(create_app(HOST, PORT, connection=connection), base_url=BASE) as client:
            page = client.get("/endpoints")
    assert page.status_code == 401
    assert "ExpiredToken" in page.text
    assert "aws sso login --profile team-dev" in page.text


def test_create_starts_the_state_machine_with_fits_input_and_kms_uploads(
    aws_client: TestClient, aws_env: Any, tmp_path: Any
) -> None:
    arn = _start(aws_client, aws_env, "console-run-1", tmp_path)
    execution = aws_env.client("stepfunctions").describe_execution(executionArn=arn)
    given = json.loads(execution["input"])
    data_bucket = aws_env.values["data-bucket"]
    assert given == {
        "train_s3_uri": given["train_s3_uri"],
        "validation_s3_uri": given["validation_s3_uri"],
        "hyperparameters": {"objective": "binary:logistic", "num_round": "20"},
        "instance_type": "ml.m5.large",
        "instance_count": 1,
    }
    s3 = aws_env.client("s3")
    for channel, prefix in (("train", "train/console/"), ("validation", "validation/console/")):
        uri = given[f"{channel}_s3_uri"]
        assert uri.startswith(f"s3://{data_bucket}/{prefix}")
        key = uri.removeprefix(f"s3://{data_bucket}/") + f"{channel}.csv"
        head = s3.head_object(Bucket=data_bucket, Key=key)
        assert head["ServerSideEncryption"] == "aws:kms"
        assert head["SSEKMSKeyId"] == aws_env.values["kms-key-arn"]


def test_bad_create_input_is_shown_beside_each_field_and_nothing_starts(
    aws_client: TestClient, aws_env: Any
) -> None:
    before = _executions(aws_env)
    objects_before = aws_env.client("s3").list_objects_v2(Bucket=aws_env.values["data-bucket"])
    response = submit(
        aws_client,
        "/training-jobs/create",
        {
            "run_name": "bad name!",
            "instance_type": "m5.large",
            "instance_count": "0",
            "train_location": "s3://someone-elses-bucket/train/",
            "hp_name_1": "max_dept",
            "hp_value_1": "3",
        },
        files={"train_file": ("t.csv", b"1,2\n", "text/csv")},
    )
    assert response.status_code == 400
    html = response.text
    for field in ("run_name", "instance_type", "instance_count", "train", "validation"):
        assert f'id="error-{field}"' in html, field
    assert "Give a location or upload a file, not both." in html
    assert "max_depth" in html  # did you mean
    assert "The Training stack needs a validation channel" in html
    assert _executions(aws_env) == before
    objects_after = aws_env.client("s3").list_objects_v2(Bucket=aws_env.values["data-bucket"])
    assert objects_after.get("KeyCount") == objects_before.get("KeyCount")


def test_a_location_outside_the_environment_is_refused(
    aws_client: TestClient, aws_env: Any
) -> None:
    aws_env.client("s3").create_bucket(Bucket="someone-elses-bucket")
    response = submit(
        aws_client,
        "/training-jobs/create",
        {
            "run_name": "outside-1",
            "train_location": "s3://someone-elses-bucket/train/",
            "validation_location": f"s3://{aws_env.values['data-bucket']}/validation/",
            **HYPERPARAMETERS,
        },
    )
    assert response.status_code == 400
    assert "is outside environment &#39;dev&#39;" in response.text
    assert "outside-1" not in _executions(aws_env)


def test_a_run_shows_its_job_metrics_and_log_read_incrementally(
    aws_client: TestClient, aws_env: Any, tmp_path: Any
) -> None:
    arn = _start(aws_client, aws_env, "console-run-2", tmp_path)
    job, _ = aws_env.play_execution(
        arn, log_lines=("[0]\tvalidation-auc:0.91", "[1]\tvalidation-auc:0.95")
    )
    listed = aws_client.get("/training-jobs").text
    assert "console-run-2" in listed and job in listed
    page = aws_client.get("/training-jobs/console-run-2")
    assert page.status_code == 200
    assert f'id="job-name">{job}<' in page.text
    assert "validation-auc:0.95" in page.text
    assert 'id="final-metrics"' in page.text
    assert "<strong>Starting</strong>" in page.text  # secondary status transitions
    offset = re.search(r'log\?offset=([^"]+)"', page.text)
    assert offset, "the log keeps polling with its forward tokens"
    logs = aws_env.client("logs")
    stream = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{job}/"
    )["logStreams"][0]["logStreamName"]
    logs.put_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs",
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "[2]\tvalidation-auc:0.97"}],
    )
    chunk = aws_client.get(f"/training-jobs/console-run-2/log?offset={offset.group(1)}").text
    assert "validation-auc:0.97" in chunk
    assert "validation-auc:0.91" not in chunk, "only what arrived since the last read"


def test_stubbed_stop_training_job_stops_a_running_job(
    aws_client: TestClient, aws_connection: Connection, aws_env: Any, tmp_path: Any
) -> None:
    """moto has no StopTrainingJob and finishes jobs at once: the SageMaker client is a
    botocore Stubber for this test (an InProgress job, then the Stop call it must receive)."""
    arn = _start(aws_client, aws_env, "console-run-3", tmp_path)
    job = f"sagestack-train-{execution_job_suffix(arn)}"
    token = csrf(aws_client)
    sagemaker = aws_connection.client("sagemaker")
    described = {
        "TrainingJobName": job,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{job}",
        "TrainingJobStatus": "InProgress",
        "SecondaryStatus": "Training",
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "CreationTime": "2026-12-08T00:00:00Z",
        "ModelArtifacts": {"S3ModelArtifacts": ""},
    }
    summary = {
        "TrainingJobName": job,
        "TrainingJobArn": described["TrainingJobArn"],
        "CreationTime": "2026-12-08T00:00:00Z",
        "TrainingJobStatus": "InProgress",
    }
    with Stubber(sagemaker) as stubbed_sagemaker:
        stubbed_sagemaker.add_response("list_training_jobs", {"TrainingJobSummaries": [summary]})
        stubbed_sagemaker.add_response("describe_training_job", described)
        stubbed_sagemaker.add_response("stop_training_job", {}, {"TrainingJobName": job})
        response = aws_client.post(
            "/training-jobs/console-run-3/stop", data={"csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303
        stubbed_sagemaker.assert_no_pending_responses()


def test_registry_lists_versions_and_approves_with_a_description(
    aws_client: TestClient, aws_env: Any, tmp_path: Any
) -> None:
    arn = _start(aws_client, aws_env, "console-run-4", tmp_path)
    job, package = aws_env.play_execution(arn, metric=0.93)
    assert package
    page = aws_client.get("/registry").text
    assert package in page and "validation:auc = 0.93" in page and job in page
    assert "PendingManualApproval" in page
    token = csrf(aws_client, "/registry")
    refused = aws_client.post(
        "/registry/approval",
        data={"csrf_token": token, "arn": package, "decision": "Approved", "description": ""},
    )
    assert refused.status_code == 400 and 'id="error-description"' in refused.text
    sagemaker = aws_env.client("sagemaker")
    assert sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
        "PendingManualApproval"
    )
    done = aws_client.post(
        "/registry/approval",
        data={
            "csrf_token": token,
            "arn": package,
            "decision": "Approved",
            "description": "AUC 0.93 on the holdout; reviewed",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    described = sagemaker.describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "AUC 0.93 on the holdout; reviewed"
    rejected = aws_client.post(
        "/registry/approval",
        data={"csrf_token": token, "arn": package, "decision": "Rejected", "description": "drift"},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    assert sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
        "Rejected"
    )
    other = package.replace("/sagestack-dev/", "/someone-else/")
    foreign = aws_client.post(
        "/registry/approval",
        data={"csrf_token": token, "arn": other, "decision": "Approved", "description": "x"},
    )
    assert foreign.status_code == 400
    assert "Not a version of this environment&#39;s model package group" in foreign.text


def make_endpoint(env: Any, name: str) -> None:
    sagemaker = env.client("sagemaker")
    sagemaker.create_model(
        ModelName=f"{name}-model",
        ExecutionRoleArn=env.values["model-role-arn"],
        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": f"{name}-model",
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
                "InitialVariantWeight": 1.0,
            }
        ],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=f"{name}-config")


def test_endpoints_list_variants_and_test_inference_invokes(
    aws_client: TestClient, aws_env: Any
) -> None:
    make_endpoint(aws_env, "sagestack-xgb-console-1")
    make_endpoint(aws_env, "someone-elses-endpoint")
    page = aws_client.get("/endpoints").text
    assert "sagestack-xgb-console-1" in page and "AllTraffic: ml.m5.large x1" in page
    assert "someone-elses-endpoint" not in page
    assert aws_client.get("/endpoints/someone-elses-endpoint").status_code == 404
    # moto's InvokeEndpoint answers from a queue its own API fills (no model runs in moto).
    requests.post(
        f"{aws_env.url}/moto-api/static/sagemaker/endpoint-results",
        json={"results": [{"Body": "[0.91, 0.12]", "ContentType": "application/json"}]},
        timeout=10,
    ).raise_for_status()
    detail = aws_client.get("/endpoints/sagestack-xgb-console-1").text
    assert "InService" in detail and 'id="variants"' in detail
    token = csrf(aws_client, "/endpoints/sagestack-xgb-console-1")
    answer = aws_client.post(
        "/endpoints/sagestack-xgb-console-1/invoke",
        data={"body": "1.0,2.0,3.0,4.0\n0.1,0.2,0.3,0.4", "content_type": "text/csv"},
        headers={"X-CSRF-Token": token},
    ).text
    assert 'id="invoke-status">200<' in answer
    assert "[0.91, 0.12]" in answer
    assert "aws sagemaker-runtime invoke-endpoint --endpoint-name sagestack-xgb-console-1" in answer


def test_posts_need_the_csrf_token_and_the_host_is_checked(aws_client: TestClient) -> None:
    refused = aws_client.post("/registry/approval", data={"arn": "x", "decision": "Approved"})
    assert refused.status_code == 403 and "CSRF" in refused.text
    assert (
        aws_client.get("/training-jobs", headers={"Host": "evil.example:8000"}).status_code == 400
    )
    assert aws_client.get("/training-jobs/no-such-run").status_code == 404
