"""The training job definition: CreateTrainingJob parameters, quality gate, registry, triggers."""

from __future__ import annotations

import json
import re
import tarfile
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from sagestack import paths
from stacks.constructs.training.construct import TrainingJob
from stacks.constructs.training.props import HyperparameterRange, TuningProps

from .doubles import Synthesized, _foundation, _training_props
from .templates import definition_of, resources_of

EU_IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.2-0"


@pytest.fixture(scope="module")
def script(synthesized: Synthesized) -> dict[str, Any]:
    return definition_of(synthesized.templates["TrainingScript"])


@pytest.fixture(scope="module")
def tuned(synthesized: Synthesized) -> dict[str, Any]:
    return definition_of(synthesized.templates["TrainingTuned"])


def _train(definition: dict[str, Any]) -> dict[str, Any]:
    state = definition["States"]["TrainModel"]
    assert (
        state["Resource"] == "arn:${Ref:AWS::Partition}:states:::sagemaker:createTrainingJob.sync"
    )
    return state["Parameters"]


def _import(name_fragment: str, synthesized: Synthesized, kind: str = "Ref") -> str:
    """The placeholder of the FoundationEu export of ``Ref`` (or ``GetAtt``) of a resource."""
    text = json.dumps(synthesized.templates["TrainingScript"])
    names = sorted(set(re.findall(r"FoundationEu:ExportsOutput[A-Za-z0-9]+", text)))
    prefix = (
        "FoundationEu:ExportsOutputRef" if kind == "Ref" else "FoundationEu:ExportsOutputFnGetAtt"
    )
    matches = [n for n in names if n.startswith(prefix + name_fragment)]
    assert len(matches) == 1, (name_fragment, names)
    return f"${{Import:{matches[0]}}}"


def test_code_archive_ships_the_inference_code_next_to_the_entry_point(synthesized) -> None:
    # train.py copies inference/ into the model's code/, for network-isolated endpoints; the
    # scripts import sagestack.contract, which rides along (and nothing else of sagestack).
    with tarfile.open(synthesized.constructs["TrainingScript"].code.archive_path) as tar:
        names = tar.getnames()
    assert names == sorted(
        ["helpers.py", "inference/inference.py", "train.py", *paths.contract_files()]
    )


def test_image_and_script_mode_hyperparameters(script: dict[str, Any], synthesized) -> None:
    params = _train(script)
    assert params["AlgorithmSpecification"]["TrainingImage"] == EU_IMAGE
    assert params["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert params["HyperParameters.$"] == "$.hyperparameters"
    defaults = script["States"]["ApplyDefaults"]["Parameters"]
    assert defaults["defaults"]["hyperparameters"] == {
        "eval_metric": "auc",
        "num_round": "100",
        "objective": "binary:logistic",
    }
    code = synthesized.constructs["TrainingScript"].code
    # The job starts train.py itself, without the image's toolkit (and its pip install), from
    # the archive the "code" channel delivers; the toolkit's sagemaker_* keys are not needed.
    assert params["AlgorithmSpecification"]["ContainerEntrypoint"] == [
        "/bin/sh",
        "-c",
        f"set -e; mkdir -p /opt/ml/code; tar -xzf /opt/ml/input/data/code/{code.object_key} "
        "-C /opt/ml/code; cd /opt/ml/code; exec python3 train.py",
    ]
    assert "Environment" not in params
    assert defaults["fixed_hyperparameters"] == {}
    # Input hyperparameters merge over the defaults; the sagemaker_* ones are merged last.
    assert script["States"]["ResolveHyperparameters"]["Parameters"]["hyperparameters.$"] == (
        "States.JsonMerge(States.JsonMerge($.default_hyperparameters, "
        "$.request.hyperparameters, false), $.fixed_hyperparameters, false)"
    )


def test_execution_input_can_override_prefixes_hyperparameters_and_instances(
    script: dict[str, Any], synthesized
) -> None:
    data = _import("DataBucket", synthesized)
    assert script["States"]["ApplyDefaults"]["Parameters"]["defaults"] == {
        "train_s3_uri": f"s3://{data}/train/",
        "validation_s3_uri": f"s3://{data}/validation/",
        "hyperparameters": {
            "eval_metric": "auc",
            "num_round": "100",
            "objective": "binary:logistic",
        },
        "instance_type": "ml.m5.xlarge",
        "instance_count": 2,
    }
    resolve = script["States"]["ResolveInput"]["Parameters"]
    assert resolve["request.$"] == "States.JsonMerge($.defaults, $.input, false)"
    assert resolve["job_name.$"] == (
        "States.Format('sagestack-train-{}', States.Hash($$.Execution.Id, 'MD5'))"
    )
    params = _train(script)
    assert params["TrainingJobName.$"] == "$.job_name"
    assert params["ResourceConfig"] == {
        "InstanceType.$": "$.request.instance_type",
        "InstanceCount.$": "$.request.instance_count",
        "VolumeSizeInGB": 30,
        "VolumeKmsKeyId": _import("Key", synthesized, "GetAtt"),
    }


def test_channels(script: dict[str, Any], synthesized) -> None:
    channels = {c["ChannelName"]: c for c in _train(script)["InputDataConfig"]}
    assert list(channels) == ["train", "validation", "code"]
    assert channels["train"] == {
        "ChannelName": "train",
        "ContentType": "text/csv",
        "InputMode": "File",
        "CompressionType": "None",
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri.$": "$.request.train_s3_uri",
                "S3DataDistributionType": "ShardedByS3Key",
            }
        },
    }
    validation = channels["validation"]["DataSource"]["S3DataSource"]
    assert validation["S3Uri.$"] == "$.request.validation_s3_uri"
    assert validation["S3DataDistributionType"] == "FullyReplicated"
    code = synthesized.constructs["TrainingScript"].code
    assert channels["code"]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://cdk-hnb659fds-assets-123456789012-eu-west-1/" + code.object_key
    )


def test_output_kms_vpc_isolation_and_encryption(script: dict[str, Any], synthesized) -> None:
    params = _train(script)
    artifacts = _import("ArtifactsBucket", synthesized)
    assert params["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{artifacts}/models",
        "KmsKeyId": _import("Key", synthesized, "GetAtt"),
    }
    assert params["RoleArn"] == _import("TrainingRole", synthesized, "GetAtt")
    vpc = params["VpcConfig"]
    assert vpc["SecurityGroupIds"] == [_import("JobsSecurityGroup", synthesized, "GetAtt")]
    assert len(vpc["Subnets"]) == 2
    assert all(
        s.startswith("${Import:FoundationEu:ExportsOutputRefVpcIsolated") for s in vpc["Subnets"]
    )
    assert params["EnableNetworkIsolation"] is True
    assert params["EnableInterContainerTrafficEncryption"] is True


def test_spot_stopping_condition_and_checkpoints(script: dict[str, Any], synthesized) -> None:
    params = _train(script)
    assert params["EnableManagedSpotTraining"] is True
    assert params["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 3600,
        "MaxWaitTimeInSeconds": 7200,
    }
    assert params["CheckpointConfig"] == {
        "S3Uri.$": "$.checkpoint_s3_uri",
        "LocalPath": "/opt/ml/checkpoints",
    }
    artifacts = _import("ArtifactsBucket", synthesized)
    assert script["States"]["ResolveHyperparameters"]["Parameters"]["checkpoint_s3_uri.$"] == (
        f"States.Format('s3://{artifacts}/checkpoints/{{}}/', $.job_name)"
    )


def test_metric_definitions_match_xgboost_log_lines(script: dict[str, Any]) -> None:
    definitions = _train(script)["AlgorithmSpecification"]["MetricDefinitions"]
    assert [d["Name"] for d in definitions] == ["train:auc", "validation:auc"]
    regex = {d["Name"]: re.compile(d["Regex"]) for d in definitions}
    lines = [
        "[7]\ttrain-auc:0.91234\tvalidation-auc:0.87",  # EvaluationMonitor
        "[7]#011train-auc:0.91234#011validation-auc:0.87",  # as CloudWatch renders the tab
        "[12:00:01] [7]\ttrain-auc:0.91234\tvalidation-auc:0.87",  # distributed rank 0
    ]
    for line in lines:
        assert float(regex["train:auc"].match(line).group(1)) == 0.91234  # type: ignore[union-attr]
        assert float(regex["validation:auc"].match(line).group(1)) == 0.87  # type: ignore[union-attr]
    assert regex["validation:auc"].match("[3]\tvalidation-auc:1e-05").group(1) == "1e-05"  # type: ignore[union-attr]
    assert regex["validation:auc"].match("no metrics here") is None


def test_quality_gate_on_final_validation_metric(script: dict[str, Any]) -> None:
    states = script["States"]
    assert states["TrainModel"]["Next"] == "HasFinalMetrics"
    assert states["TrainModel"]["ResultPath"] == "$.training"
    assert states["HasFinalMetrics"]["Choices"] == [
        {
            "Variable": "$.training.FinalMetricDataList",
            "IsPresent": True,
            "Next": "SelectValidationMetric",
        }
    ]
    assert states["SelectValidationMetric"]["Parameters"]["values.$"] == (
        "$.training.FinalMetricDataList[?(@.MetricName == 'validation:auc')].Value"
    )
    assert states["MetricReported"]["Default"] == "MetricMissing"
    assert states["QualityGate"]["Choices"] == [
        {"Variable": "$.metric.value", "NumericGreaterThanEquals": 0.75, "Next": "RegisterModel"}
    ]
    assert states["QualityGate"]["Default"] == "QualityGateFailed"
    failed = states["QualityGateFailed"]
    assert failed["Type"] == "Fail" and failed["Error"] == "QualityGateFailed"
    assert failed["CausePath"] == (
        "States.Format('validation:auc = {} is below the quality gate threshold 0.75 "
        "(maximize); the model of training job {} was not registered.', $.metric.value, "
        "$.result.training_job_name)"
    )
    assert states["MetricMissing"]["Type"] == "Fail"


def test_registers_in_the_declared_model_package_group(script: dict[str, Any], synthesized) -> None:
    register = script["States"]["RegisterModel"]
    assert (
        register["Resource"]
        == "arn:${Ref:AWS::Partition}:states:::aws-sdk:sagemaker:createModelPackage"
    )
    params = register["Parameters"]
    assert params["ModelPackageGroupName"] == "sagestack-models"
    assert params["ModelApprovalStatus"] == "PendingManualApproval"
    assert params["InferenceSpecification"]["Containers"] == [
        {"Image": EU_IMAGE, "ModelDataUrl.$": "$.result.model_data_url"}
    ]
    assert script["States"]["Registered"] == {"Type": "Succeed", "OutputPath": "$.registration"}
    synthesized.template("TrainingScript").has_resource(
        "AWS::SageMaker::ModelPackageGroup",
        {
            "Properties": Match.object_like({"ModelPackageGroupName": "sagestack-models"}),
            "DeletionPolicy": "Retain",
        },
    )


def test_retries_on_throttling(script: dict[str, Any]) -> None:
    [retry] = script["States"]["TrainModel"]["Retry"]
    assert "SageMaker.AmazonSageMakerException" in retry["ErrorEquals"]
    assert "ThrottlingException" in retry["ErrorEquals"]
    assert retry["BackoffRate"] == 2 and retry["JitterStrategy"] == "FULL"
    assert script["States"]["RegisterModel"]["Retry"][0]["ErrorEquals"] == [
        "SageMaker.ThrottlingException",
        "SageMaker.SageMakerException",
    ]


def test_logging_tracing_and_failure_topic(synthesized: Synthesized) -> None:
    template = synthesized.template("TrainingScript")
    template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like(
                {"Level": "ALL", "IncludeExecutionData": True}
            ),
        },
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "KmsKeyId": Match.any_value(),
            "LogGroupName": Match.string_like_regexp("^/aws/vendedlogs/states/"),
        },
    )
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "status": ["FAILED", "TIMED_OUT", "ABORTED"],
                    "stateMachineArn": [Match.any_value()],
                },
            },
            "Targets": [
                Match.object_like({"Arn": {"Ref": Match.string_like_regexp("FailureTopic")}})
            ],
        },
    )


def test_schedule_and_new_data_triggers(synthesized: Synthesized) -> None:
    template = synthesized.template("TrainingScript")
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(7 days)"})
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [Match.any_value()]},
                    "object": {"key": [{"wildcard": "train/*_SUCCESS"}]},
                },
            }
        },
    )
    assert "Events::Rule" not in json.dumps(
        [
            r
            for r in synthesized.templates["TrainingTuned"]["Resources"].values()
            if r["Type"] == "AWS::Events::Rule" and "ScheduleExpression" in r["Properties"]
        ]
    )


def _role_statements(template: dict[str, Any], role_fragment: str) -> list[dict[str, Any]]:
    statements = []
    for lid, policy in resources_of(template, "AWS::IAM::Policy").items():
        if role_fragment in lid:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def test_state_machine_role_is_scoped(synthesized: Synthesized) -> None:
    statements = _role_statements(synthesized.templates["TrainingScript"], "StateMachineRole")
    text = json.dumps(statements)
    assert '"sagemaker:*"' not in text
    pass_role = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert len(pass_role) == 1
    assert pass_role[0] == {
        "Action": "iam:PassRole",
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        "Effect": "Allow",
        "Resource": {"Fn::ImportValue": pass_role[0]["Resource"]["Fn::ImportValue"]},
    }
    assert "TrainingRole" in pass_role[0]["Resource"]["Fn::ImportValue"]
    sagemaker = [s for s in statements if "sagemaker:CreateTrainingJob" in s["Action"]]
    assert len(sagemaker) == 1
    assert json.dumps(sagemaker[0]["Resource"]).endswith(':training-job/sagestack-train-*"]]}')
    events = [s for s in statements if "events:PutRule" in s["Action"]]
    assert "rule/StepFunctionsGetEventsForSageMakerTrainingJobsRule" in json.dumps(events)
    register = [s for s in statements if s["Action"] == "sagemaker:CreateModelPackage"]
    assert "model-package-group/sagestack-models" in json.dumps(register)


def test_tuning_job_in_algorithm_mode(tuned: dict[str, Any]) -> None:
    state = tuned["States"]["TuneModel"]
    assert state["Resource"] == (
        "arn:${Ref:AWS::Partition}:states:::sagemaker:createHyperParameterTuningJob.sync"
    )
    config = state["Parameters"]["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "Type": "Minimize",
        "MetricName": "validation:rmse",
    }
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}
    assert config["ParameterRanges"]["IntegerParameterRanges"] == [
        {"Name": "max_depth", "MinValue": "3", "MaxValue": "10", "ScalingType": "Auto"}
    ]
    assert config["ParameterRanges"]["ContinuousParameterRanges"] == [
        {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.3", "ScalingType": "Auto"}
    ]
    definition = state["Parameters"]["TrainingJobDefinition"]
    # Built-in algorithm: its own metrics, no code channel, no sagemaker_* hyperparameters.
    assert "MetricDefinitions" not in definition["AlgorithmSpecification"]
    assert definition["AlgorithmSpecification"][
        "TrainingImage"
    ] == "${Fn::Join}" or "FindInMap" in json.dumps(definition["AlgorithmSpecification"])
    assert [c["ChannelName"] for c in definition["InputDataConfig"]] == ["train", "validation"]
    assert tuned["States"]["ApplyDefaults"]["Parameters"]["fixed_hyperparameters"] == {}
    assert definition["EnableManagedSpotTraining"] is False
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600}
    assert tuned["States"]["ResolveInput"]["Parameters"]["job_name.$"].startswith(
        "States.Format('sagestack-tune-{}'"
    )
    assert tuned["States"]["QualityGate"]["Choices"][0]["NumericLessThanEquals"] == 2.5
    assert (
        "is above the quality gate threshold 2.5 (minimize)"
        in (tuned["States"]["QualityGateFailed"]["CausePath"])
    )
    best = tuned["States"]["SelectBestTrainingJob"]["Parameters"]
    assert best["model_data_url.$"].endswith(
        "/models/{}/output/model.tar.gz', $.tuning.BestTrainingJob.TrainingJobName)"
    )


def test_script_mode_tuning_goes_through_the_toolkit_with_an_offline_install() -> None:
    """A tuning job's definition has no ContainerEntrypoint, so the toolkit runs train.py; its
    pip install of the code directory must not need a package index."""
    app = App()
    foundation = _foundation(app, "Foundation", None)
    stack = Stack(app, "TunedScript")
    job = TrainingJob(
        stack,
        "Training",
        props=_training_props(
            foundation,
            use_spot_instances=False,
            tuning=TuningProps(
                ranges=[HyperparameterRange(name="eta", min_value=0.01, max_value=0.3)]
            ),
        ),
    )
    definition = definition_of(Template.from_stack(stack).to_json())
    assert job.code is not None
    training = definition["States"]["TuneModel"]["Parameters"]["TrainingJobDefinition"]
    assert "ContainerEntrypoint" not in training["AlgorithmSpecification"]
    assert training["Environment"] == {"PIP_NO_BUILD_ISOLATION": "false"}
    assert [c["ChannelName"] for c in training["InputDataConfig"]] == [
        "train",
        "validation",
        "code",
    ]
    fixed = definition["States"]["ApplyDefaults"]["Parameters"]["fixed_hyperparameters"]
    assert fixed["sagemaker_program"] == "train.py"
    assert fixed["sagemaker_submit_directory"] == (f"/opt/ml/input/data/code/{job.code.object_key}")
