"""Show code: a job as SDK code, a ``sagestack train`` command and a CreateTrainingJob request."""

from __future__ import annotations

import json
import shlex
from typing import Any

from sagestack.sdk.packaging import MODEL_HYPERPARAMETER
from sagestack.sdk.packaging import TRAIN_ENTRY_POINT as CUSTOM_ENTRY_POINT

_XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.2-0"


def _channels(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: channel
        for name, channel in (config.get("channels") or {}).items()
        if name not in ("code", "sm_drivers")
    }


def _custom(config: dict[str, Any]) -> tuple[str, str] | None:
    """(module, Class) of a custom-model job, else None."""
    model = config.get("model")
    return tuple(model["class"].split(":", 1)) if model else None  # type: ignore[return-value]


def sdk_code(config: dict[str, Any]) -> str:
    custom = _custom(config)
    if custom:
        module, cls = custom
        head = [
            "from sagestack import PredictorInstance, S3DataSource, TrainingInstance",
            f"from {module} import {cls}  # {config['model']['file']}",
            "",
            f"model = {cls}()",
        ]
    else:
        head = [
            "from sagestack import PredictorInstance, S3DataSource, TrainingInstance, XGBoostModel",
            "",
            "model = XGBoostModel()",
        ]
    lines = [
        *head,
        "artifacts = model.fit(",
        f'    TrainingInstance("local", count={int(config.get("instance_count") or 1)}),',
        "    {",
    ]
    for name, channel in _channels(config).items():
        where = channel["path"]
        source = "S3DataSource" if where.startswith("s3://") else "S3DataSource.local"
        lines.append(
            f"        {name!r}: {source}({where!r}, {channel.get('content_type') or 'text/csv'!r}),"
        )
    lines.append("    },")
    lines.append(f"    hyperparameters={config.get('hyperparameters') or {}!r},")
    lines.append(")")
    lines.append('predictor = model.deploy(PredictorInstance("local"), artifacts)')
    return "\n".join(lines)


def cli_command(config: dict[str, Any]) -> str:
    args = ["sagestack", "train", "--local", "--job-name", config["job_name"]]
    channels = _channels(config)
    content_types = {c.get("content_type") for c in channels.values()} - {None}
    for name, channel in channels.items():
        if name in ("train", "validation"):
            args += [f"--{name}", channel["path"]]
        else:
            args += ["--channel", f"{name}={channel['path']}"]
    if len(content_types) == 1:
        args += ["--content-type", content_types.pop()]
    if _custom(config):  # the directory the runner built, as fit() builds it
        args += ["--source-dir", config.get("source_dir") or "<source dir>"]
        args += [
            "--entry-point",
            CUSTOM_ENTRY_POINT,
            "--hp",
            f"{MODEL_HYPERPARAMETER}={config['model']['class']}",
        ]
    for key, value in (config.get("hyperparameters") or {}).items():
        args += ["--hp", f"{key}={value}"]
    if int(config.get("instance_count") or 1) > 1:
        args += ["--instance-count", str(config["instance_count"])]
    if config.get("max_runtime_s"):
        args += ["--max-runtime", str(config["max_runtime_s"])]
    return " \\\n  ".join(shlex.quote(a) for a in args)


def create_training_job_request(config: dict[str, Any]) -> str:
    """The request SageMaker would get; S3 URIs stand in for the local paths."""
    name = config["job_name"]
    request = {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": _XGBOOST_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": "arn:aws:iam::<account>:role/<training-role>",
        "HyperParameters": {
            **{k: str(v) for k, v in (config.get("hyperparameters") or {}).items()},
            **_custom_hyperparameters(config),
        },
        "InputDataConfig": [
            {
                "ChannelName": channel_name,
                "ContentType": channel.get("content_type") or "text/csv",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://<data-bucket>/{name}/{channel_name}/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
            for channel_name, channel in _channels(config).items()
        ],
        "OutputDataConfig": {"S3OutputPath": "s3://<artifacts-bucket>/"},
        "ResourceConfig": {
            "InstanceType": "ml.m5.xlarge",
            "InstanceCount": int(config.get("instance_count") or 1),
            "VolumeSizeInGB": 10,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": int(config.get("max_runtime_s") or 86400)},
    }
    return json.dumps(request, indent=2)


def _custom_hyperparameters(config: dict[str, Any]) -> dict[str, str]:
    """What the SDK adds for a custom model in script mode: the entry point, its code archive
    and the class (sagestack.sdk.packaging)."""
    if not _custom(config):
        return {}
    return {
        "sagemaker_program": CUSTOM_ENTRY_POINT,
        "sagemaker_submit_directory": f"s3://<artifacts-bucket>/{config['job_name']}/sourcedir.tar.gz",
        MODEL_HYPERPARAMETER: config["model"]["class"],
    }


def curl_command(url: str, body: str, content_type: str, accept: str) -> str:
    args = [
        "curl",
        "-sS",
        "-X",
        "POST",
        f"{url}/invocations",
        "-H",
        f"Content-Type: {content_type}",
    ]
    if accept:
        args += ["-H", f"Accept: {accept}"]
    args += ["--data-binary", body]
    return " ".join(shlex.quote(a) for a in args)


def _invoke_call(name: str, body: str, content_type: str, accept: str) -> str:
    """The invoke_endpoint call and its printout, the same in both modes' boto3 snippets."""
    accept_arg = f"\n    Accept={accept!r}," if accept else ""
    return (
        "response = runtime.invoke_endpoint(\n"
        f"    EndpointName={name!r},\n"
        f"    ContentType={content_type!r},{accept_arg}\n"
        f"    Body={body!r},\n"
        ")\n"
        'print(response["Body"].read().decode())'
    )


def boto3_code(url: str, name: str, body: str, content_type: str, accept: str) -> str:
    return (
        "import boto3\n\n"
        f'runtime = boto3.client("sagemaker-runtime", endpoint_url={url!r},\n'
        '                       region_name="us-east-1", aws_access_key_id="local",\n'
        '                       aws_secret_access_key="local")\n'
        + _invoke_call(name, body, content_type, accept)
    )


def aws_cli_invoke(name: str, body: str, content_type: str, accept: str) -> str:
    """The AWS CLI call the console's AWS-mode Test inference makes (signed, so no curl)."""
    args = ["aws", "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", name]
    args += ["--content-type", content_type]
    if accept:
        args += ["--accept", accept]
    args += ["--cli-binary-format", "raw-in-base64-out", "--body", body, "/dev/stdout"]
    return " ".join(shlex.quote(a) for a in args)


def boto3_runtime_code(name: str, body: str, content_type: str, accept: str) -> str:
    return (
        "import boto3\n\n"
        'runtime = boto3.client("sagemaker-runtime")  # your profile / SSO credentials\n'
        + _invoke_call(name, body, content_type, accept)
    )
