"""Serving: model, endpoint config, endpoint, rollback alarms, autoscaling, batch transform."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from .doubles import MODEL_PACKAGE_ARN, Synthesized
from .templates import definition_of, resources_of


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    [(logical_id, resource)] = resources_of(template, resource_type).items()
    return logical_id, resource["Properties"]


@pytest.mark.parametrize("stack_id", ["Serving", "ServingServerless"])
def test_no_physical_names_on_model_config_or_endpoint(synthesized: Synthesized, stack_id) -> None:
    template = synthesized.templates[stack_id]
    assert "ModelName" not in _one(template, "AWS::SageMaker::Model")[1]
    assert "EndpointConfigName" not in _one(template, "AWS::SageMaker::EndpointConfig")[1]
    assert "EndpointName" not in _one(template, "AWS::SageMaker::Endpoint")[1]


def test_model_from_package_network_isolated_in_vpc(synthesized: Synthesized) -> None:
    _, model = _one(synthesized.templates["Serving"], "AWS::SageMaker::Model")
    assert model["PrimaryContainer"] == {
        "ModelPackageName": MODEL_PACKAGE_ARN,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            # Isolated containers cannot download code: the SDK's repacked layout.
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_REGION": {"Ref": "AWS::Region"},
            "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
            "PIP_NO_BUILD_ISOLATION": "false",
        },
    }
    assert model["EnableNetworkIsolation"] is True
    assert len(model["VpcConfig"]["Subnets"]) == 2
    assert len(model["VpcConfig"]["SecurityGroupIds"]) == 1
    assert "Fn::ImportValue" in json.dumps(model["ExecutionRoleArn"])


def test_model_from_artifact_with_inference_asset(synthesized: Synthesized) -> None:
    _, model = _one(synthesized.templates["ServingServerless"], "AWS::SageMaker::Model")
    container = model["PrimaryContainer"]
    assert container["ModelDataUrl"] == "s3://example-artifacts/models/job-1/output/model.tar.gz"
    assert "FindInMap" in json.dumps(container["Image"])
    assert container["Image"]["Fn::Join"][1][-1] == "/sagemaker-xgboost:3.2-0"
    code = synthesized.constructs["ServingServerless"].code
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == {
        "Fn::Sub": f"s3://cdk-hnb659fds-assets-${{AWS::AccountId}}-${{AWS::Region}}/{code.object_key}"
    }
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    # Serverless endpoints support neither VPC config nor network isolation.
    assert "VpcConfig" not in model and model["EnableNetworkIsolation"] is False


def test_instance_endpoint_config_kms_and_data_capture(synthesized: Synthesized) -> None:
    _, config = _one(synthesized.templates["Serving"], "AWS::SageMaker::EndpointConfig")
    assert config["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "ModelName": config["ProductionVariants"][0]["ModelName"],
            "InstanceType": "ml.m5.large",
            "InitialInstanceCount": 1,
            "InitialVariantWeight": 1,
        }
    ]
    assert config["ProductionVariants"][0]["ModelName"]["Fn::GetAtt"][1] == "ModelName"
    assert "Fn::ImportValue" in json.dumps(config["KmsKeyId"])
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 20
    assert capture["CaptureOptions"] == [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}]
    assert capture["KmsKeyId"] == config["KmsKeyId"]
    destination = capture["DestinationS3Uri"]["Fn::Join"][1]
    assert destination[0] == "s3://" and destination[-1] == "/data-capture"
    assert "ArtifactsBucket" in json.dumps(destination[1])


def test_serverless_endpoint_config(synthesized: Synthesized) -> None:
    _, config = _one(synthesized.templates["ServingServerless"], "AWS::SageMaker::EndpointConfig")
    [variant] = config["ProductionVariants"]
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 2048, "MaxConcurrency": 5}
    assert "InstanceType" not in variant
    assert "KmsKeyId" not in config and "DataCaptureConfig" not in config


def test_blue_green_canary_with_rollback_alarms(synthesized: Synthesized) -> None:
    template = synthesized.templates["Serving"]
    _, endpoint = _one(template, "AWS::SageMaker::Endpoint")
    deployment = endpoint["DeploymentConfig"]
    assert deployment["BlueGreenUpdatePolicy"] == {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
            "WaitIntervalInSeconds": 300,
        },
        "TerminationWaitInSeconds": 300,
        "MaximumExecutionTimeoutInSeconds": 3600,
    }
    rollback_names = [a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]]
    alarms = {
        p["Properties"]["MetricName"]: p["Properties"]
        for p in resources_of(template, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {"Invocation5XXErrors", "ModelLatency"}
    assert sorted(rollback_names) == sorted(a["AlarmName"] for a in alarms.values())
    endpoint_id = next(iter(resources_of(template, "AWS::SageMaker::Endpoint")))
    for alarm in alarms.values():
        assert alarm["Namespace"] == "AWS/SageMaker"
        assert alarm["Dimensions"] == [
            {"Name": "EndpointName", "Value": {"Fn::GetAtt": [endpoint_id, "EndpointName"]}},
            {"Name": "VariantName", "Value": "AllTraffic"},
        ]
        [action] = alarm["AlarmActions"]
        assert "AlarmTopic" in action["Ref"]
    assert alarms["Invocation5XXErrors"]["Statistic"] == "Sum"
    assert alarms["Invocation5XXErrors"]["Threshold"] == 1
    assert alarms["ModelLatency"]["ExtendedStatistic"] == "p99"
    assert alarms["ModelLatency"]["Threshold"] == 1_000_000  # 1000 ms in microseconds


def test_linear_traffic_shifting(synthesized: Synthesized) -> None:
    _, endpoint = _one(synthesized.templates["ServingServerless"], "AWS::SageMaker::Endpoint")
    routing = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 300,
    }


def test_autoscaling_target_and_policy(synthesized: Synthesized) -> None:
    template = synthesized.templates["Serving"]
    endpoint_id = next(iter(resources_of(template, "AWS::SageMaker::Endpoint")))
    _, target = _one(template, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    assert target["ResourceId"] == {
        "Fn::Join": [
            "",
            ["endpoint/", {"Fn::GetAtt": [endpoint_id, "EndpointName"]}, "/variant/AllTraffic"],
        ]
    }
    assert "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint" in json.dumps(
        target["RoleARN"]
    )
    _, policy = _one(template, "AWS::ApplicationAutoScaling::ScalingPolicy")
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["TargetTrackingScalingPolicyConfiguration"] == {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
        "TargetValue": 100,
        "ScaleInCooldown": 300,
        "ScaleOutCooldown": 60,
    }
    assert not resources_of(
        synthesized.templates["ServingServerless"], "AWS::ApplicationAutoScaling::ScalableTarget"
    )


def test_dashboard_and_encrypted_alarm_topic(synthesized: Synthesized) -> None:
    template = synthesized.template("Serving")
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::ImportValue": Match.any_value()}}
    )
    body = json.dumps(resources_of(synthesized.templates["Serving"], "AWS::CloudWatch::Dashboard"))
    for metric in ("Invocations", "Invocation5XXErrors", "ModelLatency", "CPUUtilization"):
        assert metric in body


def test_batch_transform_state_machine(synthesized: Synthesized) -> None:
    template = synthesized.templates["Serving"]
    definition = definition_of(template)
    transform = definition["States"]["Transform"]
    assert transform["Resource"] == (
        "arn:${Ref:AWS::Partition}:states:::sagemaker:createTransformJob.sync"
    )
    params = transform["Parameters"]
    model_id = next(iter(resources_of(template, "AWS::SageMaker::Model")))
    assert params["ModelName"] == f"${{GetAtt:{model_id}.ModelName}}"
    assert params["BatchStrategy"] == "MultiRecord"
    assert params["MaxPayloadInMB"] == 6
    assert params["TransformInput"] == {
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri.$": "$.request.input_s3_uri"}
        },
        "ContentType": "text/csv",
        "SplitType": "Line",
        "CompressionType": "None",
    }
    output = params["TransformOutput"]
    assert output["AssembleWith"] == "Line" and output["Accept"] == "text/csv"
    assert output["S3OutputPath.$"].startswith("States.Format('s3://${Import:FoundationEu:")
    assert output["S3OutputPath.$"].endswith("/batch-output/{}/', $.job_name)")
    assert output["KmsKeyId"].startswith("${Import:FoundationEu:ExportsOutputFnGetAttKey")
    assert params["TransformResources"]["VolumeKmsKeyId"] == output["KmsKeyId"]
    defaults = definition["States"]["ApplyDefaults"]["Parameters"]["defaults"]
    assert defaults["input_s3_uri"].endswith("/batch-input/")
    assert defaults["instance_type"] == "ml.m5.large"
    synthesized.template("Serving").has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )


def test_model_role_policy_is_prefix_scoped(synthesized: Synthesized) -> None:
    policies = resources_of(synthesized.templates["Serving"], "AWS::IAM::ManagedPolicy")
    [(_, policy)] = policies.items()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        "ReadModelArtifacts",
        "WriteCaptureAndBatchOutput",
        "ReadBatchInput",
        "ListBuckets",
        "UseDataKey",
        "GrantVolumeKey",
    }
    assert statements["ReadModelArtifacts"]["Action"] == "s3:GetObject"
    assert json.dumps(statements["ReadModelArtifacts"]["Resource"]).endswith('"/models/*"]]}')
    # Serverless reads its code from the asset: one more statement on exactly that object.
    serverless = resources_of(synthesized.templates["ServingServerless"], "AWS::IAM::ManagedPolicy")
    sids = [
        s["Sid"]
        for p in serverless.values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert "ReadInferenceCode" in sids
