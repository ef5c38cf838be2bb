"""``sagestack status --env``, ``logs`` and ``approve`` against the dev environment in moto_server:
the same sagestack.deployed calls as the console's AWS mode."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from sagestack.cli import app
from sagestack.deployed.connection import Connection
from sagestack.deployed.training import execution_arn

WIDE = {"COLUMNS": "250"}


def _execution(env: Any, name: str) -> str:
    bucket = env.values["data-bucket"]
    started = env.client("stepfunctions").start_execution(
        stateMachineArn=env.values["training-state-machine-arn"],
        name=name,
        input=(
            f'{{"train_s3_uri": "s3://{bucket}/train/", "validation_s3_uri": '
            f'"s3://{bucket}/validation/", "hyperparameters": {{}}}}'
        ),
    )
    assert started["executionArn"] == execution_arn(Connection.open("dev").platform(), name)
    return str(started["executionArn"])


def test_status_env_lists_runs_with_their_jobs_and_endpoints(aws_env: Any) -> None:
    from console.test_aws_routes import make_endpoint

    job, _ = aws_env.play_execution(_execution(aws_env, "cli-run-1"))
    make_endpoint(aws_env, "sagestack-cli-endpoint")
    result = CliRunner().invoke(app, ["status", "--env", "dev"], env=WIDE)
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if "cli-run-1" in line)
    assert job in row and "RUNNING" in row and "Completed" in row
    assert "sagestack-cli-endpoint" in result.output
    assert "AllTraffic: ml.m5.large x1" in result.output


def test_logs_prints_a_runs_job_log_and_follow_ends_with_the_job(aws_env: Any) -> None:
    lines = ("[0]\ttrain-auc:0.90\tvalidation-auc:0.88", "[1]\ttrain-auc:0.95\tvalidation-auc:0.92")
    job, _ = aws_env.play_execution(_execution(aws_env, "cli-run-2"), log_lines=lines)
    by_job = CliRunner().invoke(app, ["logs", job, "--env", "dev"], env=WIDE)
    assert by_job.exit_code == 0, by_job.output
    assert by_job.stdout.splitlines() == list(lines)
    followed = CliRunner().invoke(app, ["logs", "cli-run-2", "--env", "dev", "--follow"], env=WIDE)
    assert followed.exit_code == 0, followed.output
    assert followed.stdout.splitlines()[:2] == list(lines)
    assert f"{job}: Completed" in followed.output
    missing = CliRunner().invoke(app, ["logs", "no-such-run", "--env", "dev"], env=WIDE)
    assert missing.exit_code == 1
    assert "no training job or training run named 'no-such-run'" in missing.output


def test_approve_and_reject_a_package_version(aws_env: Any) -> None:
    _, package = aws_env.play_execution(_execution(aws_env, "cli-run-3"))
    approved = CliRunner().invoke(
        app, ["approve", str(package), "--description", "good holdout AUC"], env=WIDE
    )
    assert approved.exit_code == 0, approved.output
    assert f"{package}: Approved (good holdout AUC)" in approved.output
    sagemaker = aws_env.client("sagemaker")
    described = sagemaker.describe_model_package(ModelPackageName=package)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "good holdout AUC"
    rejected = CliRunner().invoke(app, ["approve", str(package), "--reject", "-d", "drift"])
    assert rejected.exit_code == 0, rejected.output
    assert sagemaker.describe_model_package(ModelPackageName=package)["ModelApprovalStatus"] == (
        "Rejected"
    )
    foreign = CliRunner().invoke(app, ["approve", "arn:aws:sagemaker:us-east-1:1:x"], env=WIDE)
    assert foreign.exit_code == 1
    assert "Not a model package ARN" in foreign.output


def test_a_credentials_problem_is_one_line_with_the_command(aws_env: Any) -> None:
    result = CliRunner().invoke(app, ["status", "--env", "dev", "--profile", "nope"], env=WIDE)
    assert result.exit_code == 1
    shown = " ".join(result.output.split())  # the red line wraps at the terminal's width
    assert "The AWS profile 'nope' is not in ~/.aws/config." in shown
    assert "Run `aws configure sso --profile nope` and retry." in shown
    assert "Traceback" not in result.output
