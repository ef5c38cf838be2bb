"""Model, endpoint config and endpoint, updated blue/green with rollback on alarms."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from sagestack.contract.launch import TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT
from sagestack.contract.paths import MODEL_CODE_DIR
from stacks.constructs.serving.props import EndpointProps, TrafficShifting
from stacks.constructs.source_asset import SourceAsset
from stacks.nag import acknowledge

VARIANT_NAME = "AllTraffic"  # blue/green updates need the same variant name in old and new config


def add_model(
    scope: Construct, p: EndpointProps, image: str, code: SourceAsset | None
) -> sagemaker.CfnModel:
    """The model: the registered package, or the artifact with the pinned image; the code
    comes from ``code`` or, with network isolation, from inside the artifact."""
    environment = {
        "SAGEMAKER_PROGRAM": p.entry_point,
        # Without an S3 submit directory, MODEL_CODE_DIR: where the SageMaker SDK points it when
        # it repacks the inference code into model.tar.gz, as it does for network-isolated
        # models (the container cannot download an S3 submit directory without a network).
        "SAGEMAKER_SUBMIT_DIRECTORY": code.s3_uri if code else MODEL_CODE_DIR,
        "SAGEMAKER_REGION": Aws.REGION,
        "SAGEMAKER_CONTAINER_LOG_LEVEL": str(p.container_log_level),
        # The toolkit pip-installs SAGEMAKER_PROGRAM's directory before serving; our VPCs
        # have no package index.
        **TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT,
    }
    if p.model_package_arn is not None:
        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            model_package_name=p.model_package_arn, environment=environment
        )
    else:
        container = sagemaker.CfnModel.ContainerDefinitionProperty(
            image=image, model_data_url=p.model_data_url, environment=environment
        )
    vpc_config = None
    if p.instance_variant:
        vpc_config = sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=[sg.security_group_id for sg in p.security_groups],
            subnets=[subnet.subnet_id for subnet in p.subnets],
        )
    model = sagemaker.CfnModel(
        scope,
        "Model",
        execution_role_arn=p.model_role.role_arn,
        primary_container=container,
        vpc_config=vpc_config,
        enable_network_isolation=p.isolated,
    )
    return model


def add_endpoint_config(
    scope: Construct, p: EndpointProps, model: sagemaker.CfnModel
) -> sagemaker.CfnEndpointConfig:
    """One ``AllTraffic`` variant: instances (KMS volume, data capture) or serverless."""
    Cfg = sagemaker.CfnEndpointConfig
    kms_key_id = None
    data_capture = None
    if p.instance_variant:
        variant = Cfg.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=model.attr_model_name,
            initial_variant_weight=1,
            instance_type=p.instance_type,
            initial_instance_count=p.instance_count,
        )
        kms_key_id = p.encryption_key.key_arn
        if p.data_capture_sampling_percent > 0:
            data_capture = Cfg.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=p.data_capture_sampling_percent,
                destination_s3_uri=(
                    f"s3://{p.artifacts_bucket.bucket_name}/{p.data_capture_prefix.rstrip('/')}"
                ),
                kms_key_id=p.encryption_key.key_arn,
                capture_options=[
                    Cfg.CaptureOptionProperty(capture_mode="Input"),
                    Cfg.CaptureOptionProperty(capture_mode="Output"),
                ],
                capture_content_type_header=Cfg.CaptureContentTypeHeaderProperty(
                    csv_content_types=["text/csv"], json_content_types=["application/json"]
                ),
            )
    else:
        variant = Cfg.ProductionVariantProperty(
            variant_name=VARIANT_NAME,
            model_name=model.attr_model_name,
            initial_variant_weight=1,
            serverless_config=Cfg.ServerlessConfigProperty(
                memory_size_in_mb=p.serverless_memory_mib,
                max_concurrency=p.serverless_max_concurrency,
            ),
        )
    config = Cfg(
        scope,
        "EndpointConfig",
        production_variants=[variant],
        kms_key_id=kms_key_id,
        data_capture_config=data_capture,
    )
    if not p.instance_variant:
        for rule in (
            "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
            "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
        ):
            acknowledge(
                config,
                rule,
                "Serverless endpoint configs take no KmsKeyId: the CreateEndpointConfig "
                "reference says KmsKeyId is not supported for serverless variants, "
                "which have no ML storage volume to encrypt.",
            )
    return config


def add_endpoint(
    scope: Construct,
    p: EndpointProps,
    endpoint_config: sagemaker.CfnEndpointConfig,
    rollback_alarm_names: Sequence[str],
) -> sagemaker.CfnEndpoint:
    """The endpoint. A new endpoint config updates it blue/green (canary, linear or all at
    once), rolled back automatically while any of the named alarms is in ALARM."""
    Ep = sagemaker.CfnEndpoint
    canary = linear = wait = None
    if p.traffic_shifting is TrafficShifting.CANARY:
        canary = Ep.CapacitySizeProperty(type="CAPACITY_PERCENT", value=p.canary_size_percent)
        wait = p.traffic_wait_s
    elif p.traffic_shifting is TrafficShifting.LINEAR:
        linear = Ep.CapacitySizeProperty(type="CAPACITY_PERCENT", value=p.linear_step_percent)
        wait = p.traffic_wait_s
    return Ep(
        scope,
        "Endpoint",
        endpoint_config_name=endpoint_config.attr_endpoint_config_name,
        deployment_config=Ep.DeploymentConfigProperty(
            blue_green_update_policy=Ep.BlueGreenUpdatePolicyProperty(
                traffic_routing_configuration=Ep.TrafficRoutingConfigProperty(
                    type=p.traffic_shifting.value,
                    canary_size=canary,
                    linear_step_size=linear,
                    wait_interval_in_seconds=wait,
                ),
                termination_wait_in_seconds=p.termination_wait_s,
                maximum_execution_timeout_in_seconds=p.max_deployment_s,
            ),
            auto_rollback_configuration=Ep.AutoRollbackConfigProperty(
                alarms=[Ep.AlarmProperty(alarm_name=name) for name in rollback_alarm_names]
            ),
        ),
    )
