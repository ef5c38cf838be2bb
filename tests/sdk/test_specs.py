"""The specs (TrainingInstance, PredictorInstance, S3DataSource) name the bad field and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from sagestack import PredictorInstance, S3DataSource, TrainingInstance
from sagestack.sdk.sources import SHORT_CONTENT_TYPES
from training.sm_constants import CONTENT_TYPE_FORMATS


def test_valid_specs_keep_their_values() -> None:
    training = TrainingInstance("ml.m5.xlarge", count=2, spot=True)
    assert (training.count, training.resolved_max_wait_s) == (2, 2 * 86400)
    assert TrainingInstance("local").is_local
    assert PredictorInstance("ml.m5.large", count=2).count == 2
    serverless = PredictorInstance.serverless(3072, 10)
    assert serverless.is_serverless and serverless.memory_mib == 3072
    source = S3DataSource("s3://my-bucket/train/part.csv", distribution="ShardedByS3Key")
    assert (source.bucket, source.key) == ("my-bucket", "train/part.csv")


def test_local_source_round_trips_a_path(tmp_path: Path) -> None:
    source = S3DataSource.local(tmp_path / "with space")
    assert source.uri.startswith("file:///") and source.is_local
    assert source.path == tmp_path / "with space"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TrainingInstance("m5.xlarge"), "TrainingInstance.instance_type = 'm5.xlarge'"),
        (lambda: TrainingInstance("gpu"), "'local' (this machine) or a SageMaker instance type"),
        (
            lambda: TrainingInstance("ml.m5.xlarg"),
            "not a SageMaker TrainingInstance instance type; did you mean ml.m5.xlarge",
        ),
        (lambda: TrainingInstance("ml.m5.xlarge", count=0), "TrainingInstance.count = 0"),
        (lambda: TrainingInstance("local", count=True), "TrainingInstance.count = True"),
        (
            lambda: TrainingInstance("local", volume_size_gib=0),
            "TrainingInstance.volume_size_gib = 0: an integer from 1 to 16384 (GiB)",
        ),
        (
            lambda: TrainingInstance("local", max_runtime_s=3_000_000),
            "TrainingInstance.max_runtime_s = 3000000",
        ),
        (lambda: TrainingInstance("local", spot="yes"), "TrainingInstance.spot = 'yes'"),  # type: ignore[arg-type]
        (
            lambda: TrainingInstance("ml.m5.xlarge", max_wait_s=100),
            "TrainingInstance.max_wait_s = 100: only meaningful with spot=True",
        ),
        (
            lambda: TrainingInstance("ml.m5.xlarge", max_runtime_s=600, spot=True, max_wait_s=60),
            "TrainingInstance.max_wait_s = 60: an integer from 600",
        ),
        (lambda: PredictorInstance(), "give an instance type ('local', 'ml.m5.large', ...)"),
        (
            lambda: PredictorInstance("ml.m5.largest"),
            "PredictorInstance.instance_type = 'ml.m5.largest'",
        ),
        (lambda: PredictorInstance("local", count=101), "PredictorInstance.count = 101"),
        (
            lambda: PredictorInstance.serverless(1500, 5),
            "PredictorInstance.memory_mib = 1500: 1024 to 6144 in steps of 1024",
        ),
        (
            lambda: PredictorInstance.serverless(2048, 0),
            "PredictorInstance.max_concurrency = 0",
        ),
        (
            lambda: PredictorInstance("ml.m5.large", memory_mib=2048, max_concurrency=5),
            "leave it unset for a serverless endpoint",
        ),
        (
            lambda: S3DataSource("bucket/key"),
            "S3DataSource.uri = 'bucket/key': expected s3://bucket/key or file:///absolute/path",
        ),
        (lambda: S3DataSource("s3://Bad_Bucket/key"), "'Bad_Bucket' is not a valid S3 bucket"),
        (lambda: S3DataSource("s3://ab/key"), "'ab' is not a valid S3 bucket name"),
        (lambda: S3DataSource("s3://192.168.1.1/key"), "is not a valid S3 bucket name"),
        (lambda: S3DataSource("file://relative/path"), "a file:// URI with an absolute path"),
        (
            lambda: S3DataSource("s3://bucket/k", content_type="cvs"),
            "S3DataSource.content_type = 'cvs': a media type such as 'text/csv', or one of csv,",
        ),
        (
            lambda: S3DataSource("s3://bucket/k", distribution="Sharded"),
            "S3DataSource.distribution = 'Sharded': one of FullyReplicated, ShardedByS3Key",
        ),
    ],
)
def test_fails_naming_the_field_and_value(build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError) as raised:
        build()
    assert message in str(raised.value)


@pytest.mark.parametrize("content_type", ["csv", "libsvm", "parquet", "text/csv; charset=utf-8"])
def test_source_accepts_every_content_type_train_py_reads(content_type: str) -> None:
    assert S3DataSource("s3://bucket/k", content_type).content_type == content_type


def test_short_content_types_are_train_py_s() -> None:
    bare = {name for name in CONTENT_TYPE_FORMATS if "/" not in name}
    assert bare == set(SHORT_CONTENT_TYPES)


def test_specs_are_frozen() -> None:
    instance = TrainingInstance("local")
    with pytest.raises(AttributeError):
        instance.count = 2  # type: ignore[misc]
