"""The /opt/ml-like job dir: config files with their full keys, channels, and SM_* vars."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sagestack.local.channels import (
    Channel,
    ChannelError,
    S3Location,
    channel_source,
    validate_channels,
)
from sagestack.local.environment import JobContext, training_environment
from sagestack.local.hyperparameters import to_hyperparameters_json
from sagestack.local.jobdir import HostDir, layout_host, resource_config


def _layout(tmp: Path, data: Path, launch: str, host: str = "algo-1", hosts=None, **channel):
    hosts = hosts or ["algo-1"]
    host_dir = HostDir(tmp / host, host, tmp / host / "checkpoints")
    channels = {"train": Channel(source=data, content_type="text/csv", **channel)}
    hps = to_hyperparameters_json({"num_round": 5, "objective": "binary:logistic"})
    code = tmp / "src"
    code.mkdir(exist_ok=True)
    (code / "train.py").write_text("print('hi')\n")
    config = layout_host(
        host_dir,
        hosts=hosts,
        instance_type="ml.m5.xlarge",
        channels=channels,
        hyperparameters_json=hps,
        source_dir=code,
        entry_point="train.py",
        launch=launch,
    )
    return host_dir, config, hps


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_config_files_have_every_key_sagemaker_writes(tmp_path: Path, train_data: Path) -> None:
    host_dir, _, _ = _layout(tmp_path, train_data, "legacy")
    assert _json(host_dir.hyperparameters_file) == {
        "num_round": "5",
        "objective": "binary:logistic",
    }
    assert _json(host_dir.input_data_config_file) == {
        "train": {
            "ContentType": "text/csv",
            "TrainingInputMode": "File",
            "S3DistributionType": "FullyReplicated",
            "RecordWrapperType": "None",
        }
    }
    resource = _json(host_dir.resource_config_file)
    assert set(resource) == {
        "current_host",
        "current_instance_type",
        "current_group_name",
        "hosts",
        "instance_groups",
        "network_interface_name",
    }
    assert resource["current_host"] == "algo-1"
    assert resource["instance_groups"][0]["hosts"] == ["algo-1"]
    assert _json(host_dir.checkpoint_config_file) == {"LocalPath": str(host_dir.checkpoint_dir)}
    for path in (host_dir.model_dir, host_dir.output_data_dir, host_dir.checkpoint_dir):
        assert path.is_dir()
    assert (host_dir.code_dir / "train.py").is_file()
    assert sorted(p.name for p in host_dir.channel_dir("train").iterdir()) == [
        "part-0.csv",
        "part-1.csv",
    ]


def test_v3_layout_adds_the_code_and_sm_drivers_channels(tmp_path: Path, train_data: Path) -> None:
    host_dir, config, _ = _layout(tmp_path, train_data, "v3")
    assert list(config) == ["train", "code", "sm_drivers"]
    assert (host_dir.channel_dir("code") / "train.py").is_file()
    assert not host_dir.code_dir.exists()


def test_a_single_file_lands_alone_in_its_channel(tmp_path: Path, train_data: Path) -> None:
    host_dir, _, _ = _layout(tmp_path, train_data / "part-1.csv", "v3")
    assert [p.name for p in host_dir.channel_dir("train").iterdir()] == ["part-1.csv"]


def test_sharded_by_s3_key_deals_files_to_hosts(tmp_path: Path, train_data: Path) -> None:
    hosts = ["algo-1", "algo-2"]
    names = []
    for host in hosts:
        host_dir, _, _ = _layout(
            tmp_path, train_data, "v3", host=host, hosts=hosts, distribution="ShardedByS3Key"
        )
        names.append(sorted(p.name for p in host_dir.channel_dir("train").iterdir()))
    assert names == [["part-0.csv"], ["part-1.csv"]]


def _context(host_dir: HostDir, config: dict, hps: dict, hosts=("algo-1",)) -> JobContext:
    return JobContext(
        job_name="job-1",
        job_arn="arn:aws:sagemaker:us-east-1:000000000000:training-job/job-1",
        host_dir=host_dir,
        hosts=list(hosts),
        hyperparameters_json=hps,
        input_data_config=config,
        resource_config=resource_config(host_dir.host, list(hosts), "ml.m5.xlarge"),
        entry_point="train.py",
        num_cpus=2,
    )


COMMON = {
    "SM_MODEL_DIR", "SM_OUTPUT_DATA_DIR", "SM_OUTPUT_DIR", "SM_INPUT_DIR", "SM_INPUT_CONFIG_DIR",
    "SM_CHANNELS", "SM_CHANNEL_TRAIN", "SM_HPS", "SM_HP_NUM_ROUND", "SM_HOSTS",
    "SM_CURRENT_HOST", "SM_NETWORK_INTERFACE_NAME", "SM_NUM_CPUS", "SM_NUM_GPUS",
    "SM_RESOURCE_CONFIG", "SM_INPUT_DATA_CONFIG", "SM_TRAINING_ENV", "SM_LOG_LEVEL",
    "SM_CHECKPOINT_CONFIG_FILE", "SM_INPUT_DATA_CONFIG_FILE", "SM_INPUT_TRAINING_CONFIG_FILE",
    "TRAINING_JOB_NAME", "TRAINING_JOB_ARN", "SAGESTACK_HOST_ADDRESSES",
}  # fmt: skip


def test_legacy_environment(tmp_path: Path, train_data: Path) -> None:
    host_dir, config, hps = _layout(tmp_path, train_data, "legacy")
    env = training_environment(_context(host_dir, config, hps), "legacy")
    legacy_only = {
        "SM_MODULE_DIR", "SM_MODULE_NAME", "SM_USER_ENTRY_POINT", "SM_USER_ARGS",
        "SM_FRAMEWORK_MODULE", "SM_FRAMEWORK_PARAMS", "SM_OUTPUT_INTERMEDIATE_DIR",
    }  # fmt: skip
    assert COMMON | legacy_only <= set(env)
    assert "SM_OUTPUT_FAILURE" not in env  # not set by sagemaker-containers
    assert env["SM_HOSTS"] == '["algo-1"]'
    assert env["SM_HPS"] == '{"num_round":5,"objective":"binary:logistic"}'
    assert env["SM_HP_NUM_ROUND"] == "5"
    assert env["SM_USER_ARGS"] == '["--num_round","5","--objective","binary:logistic"]'
    assert env["SM_CHANNEL_TRAIN"] == str(host_dir.channel_dir("train"))
    assert json.loads(env["SM_TRAINING_ENV"])["is_master"] is True


def test_v3_environment(tmp_path: Path, train_data: Path) -> None:
    host_dir, config, hps = _layout(tmp_path, train_data, "v3", hosts=["algo-1", "algo-2"])
    env = training_environment(_context(host_dir, config, hps, hosts=("algo-2", "algo-1")), "v3")
    v3_only = {
        "SM_OUTPUT_FAILURE", "SM_INPUT_DATA_DIR", "SM_MASTER_ADDR", "SM_MASTER_PORT",
        "SM_SOURCE_DIR", "SM_ENTRY_SCRIPT", "SM_HOST_COUNT", "SM_CURRENT_HOST_RANK",
        "SM_CURRENT_INSTANCE_TYPE", "SM_NUM_NEURONS", "SM_CHANNEL_CODE", "SM_CHANNEL_SM_DRIVERS",
    }  # fmt: skip
    assert COMMON | v3_only <= set(env)
    assert "SM_USER_ARGS" not in env
    assert json.loads(env["SM_CHANNELS"]) == ["train", "code", "sm_drivers"]
    assert json.loads(env["SM_HOSTS"]) == ["algo-1", "algo-2"]
    assert json.loads(env["SAGESTACK_HOST_ADDRESSES"]) == {
        "algo-1": "127.0.0.1",
        "algo-2": "127.0.0.1",
    }
    assert env["SM_OUTPUT_FAILURE"] == str(host_dir.failure_file)
    assert env["SM_HOST_COUNT"] == "2"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "ml.m5.xlarge"


def test_channel_sources(tmp_path: Path) -> None:
    assert channel_source("file:///data/train") == Path("/data/train")
    assert channel_source("data/train") == Path("data/train")
    assert channel_source("s3://bucket/x/") == S3Location("bucket", "x/")
    with pytest.raises(ChannelError, match="hdfs://nn/x"):
        channel_source("hdfs://nn/x")
    with pytest.raises(ChannelError, match="does not exist"):
        validate_channels({"train": Channel(source=tmp_path / "missing")})
    with pytest.raises(ChannelError, match="distribution"):
        Channel(source=tmp_path, distribution="Random")
