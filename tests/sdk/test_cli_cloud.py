"""``sagestack upload``, ``status`` and ``report`` through Typer's CliRunner (AWS in moto)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sagestack.cli import app

from .conftest import Channels, Deployed

WIDE = {"COLUMNS": "200"}
EVALUATION = {
    "objective": "binary:logistic",
    "rows": {"train": 180, "validation": 60},
    "metrics": {"train": {"auc": 0.99}, "validation": {"auc": 0.97}},
    "quality": {"auc": 0.97, "accuracy_at_0.5": 0.93},
    "feature_importance_gain": {"f0": 12.5, "f1": 3.25},
}


def _output_tar(report: Mapping[str, object]) -> bytes:
    data = json.dumps(report).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("evaluation.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize("command", ["upload", "status", "report"])
def test_help_reads_well(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--help"], env=WIDE)
    assert result.exit_code == 0
    assert "--env" in result.output
    assert ("--local" in result.output) == (command != "upload")


def test_upload_prints_the_s3_uri(deployed: Deployed, channels: Channels) -> None:
    result = CliRunner().invoke(app, ["upload", str(channels.train.path), "--channel", "train"])
    assert result.exit_code == 0, result.output
    uri = result.stdout.strip().splitlines()[0]
    assert uri.startswith("s3://sagestack-dev-data/uploads/train/")
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    listed = deployed.client("s3").list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert [o["Key"].rsplit("/", 1)[1] for o in listed["Contents"]] == ["part-0.csv"]


def test_status_lists_executions_jobs_and_endpoints(deployed: Deployed) -> None:
    deployed.client("stepfunctions").start_execution(
        stateMachineArn=deployed["training-state-machine-arn"], name="nightly-1", input="{}"
    )
    sagemaker = deployed.client("sagemaker")
    sagemaker.create_training_job(
        TrainingJobName="sagestack-dev-train-abc",
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=deployed["training-role-arn"],
        OutputDataConfig={"S3OutputPath": "s3://sagestack-dev-artifacts/training/models"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    sagemaker.create_model(
        ModelName="m", ExecutionRoleArn=deployed["model-role-arn"], PrimaryContainer={"Image": "i"}
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="c",
        ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "m", "InstanceType": "ml.m5.large"}
        ],
    )
    sagemaker.create_endpoint(EndpointName="sagestack-logistic-1", EndpointConfigName="c")
    sagemaker.create_endpoint(EndpointName="someone-elses", EndpointConfigName="c")

    result = CliRunner().invoke(app, ["status"], env=WIDE)
    assert result.exit_code == 0, result.output
    for expected in ("nightly-1", "RUNNING", "sagestack-dev-train-abc", "sagestack-logistic-1"):
        assert expected in result.output
    assert "someone-elses" not in result.output


def test_report_downloads_a_jobs_evaluation(deployed: Deployed) -> None:
    job = "sagestack-dev-train-abc"
    deployed.client("sagemaker").create_training_job(
        TrainingJobName=job,
        AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
        RoleArn=deployed["training-role-arn"],
        OutputDataConfig={"S3OutputPath": "s3://sagestack-dev-artifacts/training/models/"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 60},
    )
    key = f"training/models/{job}/output/output.tar.gz"
    deployed.client("s3").put_object(
        Bucket="sagestack-dev-artifacts", Key=key, Body=_output_tar(EVALUATION)
    )
    shown = CliRunner().invoke(app, ["report", job], env=WIDE)
    assert shown.exit_code == 0, shown.output
    for expected in ("binary:logistic", "validation", "0.97", "accuracy_at_0.5", "f0"):
        assert expected in shown.output
    raw = CliRunner().invoke(app, ["report", f"s3://sagestack-dev-artifacts/{key}", "--json"])
    assert json.loads(raw.stdout) == EVALUATION


def test_report_local_reads_a_job_dir_or_file(tmp_path: Path) -> None:
    data = tmp_path / "job" / "output" / "data"
    data.mkdir(parents=True)
    (data / "evaluation.json").write_text(json.dumps(EVALUATION))
    result = CliRunner().invoke(app, ["report", "--local", str(tmp_path / "job")], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "f0" in result.output and "12.5" in result.output
    missing = CliRunner().invoke(app, ["report", "--local", "no-such-job"])
    assert missing.exit_code == 1
    assert "no evaluation report for 'no-such-job'" in missing.output


def test_report_local_shows_the_confusion_matrix_and_where_the_plots_are(tmp_path: Path) -> None:
    evaluation = {**EVALUATION, "confusion_matrix": [[5, 1], [2, 7]], "plots": ["roc.png"]}
    (tmp_path / "evaluation.json").write_text(json.dumps(evaluation))
    result = CliRunner().invoke(app, ["report", "--local", str(tmp_path / "evaluation.json")])
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "roc.png, beside evaluation.json in" in shown
    assert "Confusion matrix (rows: true class, columns: predicted class)" in shown
    assert "│ 1 │ 2 │ 7 │" in shown


def test_commands_explain_an_undeployed_environment(deployed: Deployed) -> None:
    result = CliRunner().invoke(app, ["status", "--env", "prod"], env=WIDE)
    assert result.exit_code == 1
    assert "Environment 'prod' is not deployed in region eu-west-1" in result.output
    assert "make deploy ENV=prod" in result.output
