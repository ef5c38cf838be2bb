"""The CreateTrainingJob request (or tuning job) that the training state machine sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from sagestack.contract.launch import (
    CODE_CHANNEL,
    CODE_CHANNEL_DIR,
    TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
    training_entrypoint,
)
from sagestack.contract.paths import CHECKPOINT_DIR
from stacks.constructs.naming import job_tags
from stacks.constructs.source_asset import SourceAsset
from stacks.constructs.training.props import S3Distribution, TrainingJobProps, TrainingMode


@dataclass(frozen=True, kw_only=True)
class JobDefinition:
    """One training job as the API takes it; ``$.request``, ``$.job_name``, ``$.hyperparameters``
    and ``$.checkpoint_s3_uri`` come from the state machine's input-resolving states."""

    props: TrainingJobProps
    training_image: str
    code: SourceAsset | None
    """The script-mode code asset (the ``code`` channel); None in ALGORITHM mode."""
    output_s3_uri: str
    """``s3://<artifacts>/<output_prefix>`` without the trailing slash."""

    def fixed_hyperparameters(self) -> dict[str, str]:
        """What the image's toolkit needs to find the script. Only a tuning job goes through the
        toolkit; a training job starts the script itself (see ``_shared_parameters``)."""
        p = self.props
        if self.code is None or p.tuning is None:
            return {}
        return {
            "sagemaker_program": p.entry_point,
            "sagemaker_submit_directory": f"{CODE_CHANNEL_DIR}/{self.code.file_name}",
            "sagemaker_region": Aws.REGION,
            "sagemaker_container_log_level": str(p.container_log_level),
        }

    def state(self, scope: Construct) -> sfn.CustomState:
        """The .sync task: TuneModel when the props tune, TrainModel otherwise."""
        if self.props.tuning is not None:
            return self._tuning_state(scope)
        return self._training_state(scope)

    def _training_state(self, scope: Construct) -> sfn.CustomState:
        parameters = {
            "TrainingJobName.$": "$.job_name",
            "HyperParameters.$": "$.hyperparameters",
            **self._shared_parameters("$.checkpoint_s3_uri"),
            "Tags": job_tags(self.props.environment_tag),
        }
        return sfn.CustomState(
            scope,
            "TrainModel",
            state_json={
                "Type": "Task",
                "Comment": "CreateTrainingJob and wait for it (.sync).",
                "Resource": (f"arn:{Aws.PARTITION}:states:::sagemaker:createTrainingJob.sync"),
                "Parameters": parameters,
                "ResultPath": "$.training",
            },
        )

    def _tuning_state(self, scope: Construct) -> sfn.CustomState:
        p = self.props
        assert p.tuning is not None
        tuning = p.tuning
        integer_ranges = [
            {
                "Name": r.name,
                "MinValue": str(int(r.min_value)),
                "MaxValue": str(int(r.max_value)),
                "ScalingType": r.scaling,
            }
            for r in tuning.ranges
            if r.integer
        ]
        continuous_ranges = [
            {
                "Name": r.name,
                "MinValue": f"{r.min_value:g}",
                "MaxValue": f"{r.max_value:g}",
                "ScalingType": r.scaling,
            }
            for r in tuning.ranges
            if not r.integer
        ]
        definition = {
            "StaticHyperParameters.$": "$.hyperparameters",
            **self._shared_parameters("$.checkpoint_s3_uri"),
        }
        parameters = {
            "HyperParameterTuningJobName.$": "$.job_name",
            "HyperParameterTuningJobConfig": {
                "Strategy": tuning.strategy,
                "HyperParameterTuningJobObjective": {
                    "Type": p.quality_gate_direction.value,
                    "MetricName": p.gate_metric_name,
                },
                "ResourceLimits": {
                    "MaxNumberOfTrainingJobs": tuning.max_training_jobs,
                    "MaxParallelTrainingJobs": tuning.max_parallel_training_jobs,
                },
                "ParameterRanges": {
                    "IntegerParameterRanges": integer_ranges,
                    "ContinuousParameterRanges": continuous_ranges,
                    "CategoricalParameterRanges": [],
                },
                "TrainingJobEarlyStoppingType": "Off" if tuning.strategy == "Hyperband" else "Auto",
            },
            "TrainingJobDefinition": definition,
            "Tags": job_tags(self.props.environment_tag),
        }
        return sfn.CustomState(
            scope,
            "TuneModel",
            state_json={
                "Type": "Task",
                "Comment": "CreateHyperParameterTuningJob and wait for it (.sync).",
                "Resource": (
                    f"arn:{Aws.PARTITION}:states:::sagemaker:createHyperParameterTuningJob.sync"
                ),
                "Parameters": parameters,
                "ResultPath": "$.tuning",
            },
        )

    def _channels(self) -> list[dict[str, Any]]:
        p = self.props

        def channel(name: str, uri_path: str, distribution: S3Distribution) -> dict[str, Any]:
            return {
                "ChannelName": name,
                "ContentType": p.content_type,
                "InputMode": "File",
                "CompressionType": "None",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri.$": uri_path,
                        "S3DataDistributionType": distribution.value,
                    }
                },
            }

        channels = [
            channel("train", "$.request.train_s3_uri", p.train_distribution),
            channel("validation", "$.request.validation_s3_uri", p.validation_distribution),
        ]
        if self.code is not None:
            channels.append(
                {
                    "ChannelName": CODE_CHANNEL,
                    "InputMode": "File",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": self.code.s3_uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                }
            )
        return channels

    def _shared_parameters(self, checkpoint_path: str) -> dict[str, Any]:
        """The parts CreateTrainingJob and a tuning job's TrainingJobDefinition share."""
        p = self.props
        key_arn = p.encryption_key.key_arn
        algorithm: dict[str, Any] = {
            "TrainingImage": self.training_image,
            "TrainingInputMode": "File",
        }
        if self.code is not None and p.tuning is None:
            # No toolkit, so no pip install (no index in our VPCs) and the script's own failure
            # file becomes FailureReason. A tuning definition has no entrypoint field.
            algorithm["ContainerEntrypoint"] = training_entrypoint(
                self.code.file_name, p.entry_point
            )
        if p.mode is TrainingMode.SCRIPT:
            # SageMaker rejects metric definitions for its own algorithms; the built-in image
            # reports train:/validation:<metric> by itself.
            algorithm["MetricDefinitions"] = [
                {"Name": m.name, "Regex": m.regex} for m in p.resolved_metric_definitions
            ]
        stopping: dict[str, Any] = {"MaxRuntimeInSeconds": p.max_runtime_s}
        if p.use_spot_instances:
            stopping["MaxWaitTimeInSeconds"] = p.max_wait_s
        return {
            "AlgorithmSpecification": algorithm,
            "RoleArn": p.training_role.role_arn,
            "InputDataConfig": self._channels(),
            "OutputDataConfig": {"S3OutputPath": self.output_s3_uri, "KmsKeyId": key_arn},
            "ResourceConfig": {
                "InstanceType.$": "$.request.instance_type",
                "InstanceCount.$": "$.request.instance_count",
                "VolumeSizeInGB": p.volume_size_gib,
                "VolumeKmsKeyId": key_arn,
            },
            "StoppingCondition": stopping,
            "EnableManagedSpotTraining": p.use_spot_instances,
            "CheckpointConfig": {"S3Uri.$": checkpoint_path, "LocalPath": CHECKPOINT_DIR},
            "VpcConfig": {
                "SecurityGroupIds": [sg.security_group_id for sg in p.security_groups],
                "Subnets": [subnet.subnet_id for subnet in p.subnets],
            },
            "EnableNetworkIsolation": p.network_isolation,
            "EnableInterContainerTrafficEncryption": True,
            **self._toolkit_environment(),
        }

    def _toolkit_environment(self) -> dict[str, Any]:
        """A tuning job's script goes through the toolkit's install step, which must work
        without a package index."""
        if self.code is None or self.props.tuning is None:
            return {}
        return {"Environment": dict(TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT)}
