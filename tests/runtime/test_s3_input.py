"""Local jobs reading s3:// channels, against moto's S3 served on loopback (tests/moto_s3.py)."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
import requests
from moto_loopback import moto_server, point_s3_at
from typer.testing import CliRunner

from sagestack.cli import app
from sagestack.local import s3_input
from sagestack.local.channels import Channel, S3Location
from sagestack.local.job_spec import TrainingJobSpec
from sagestack.local.training import run_training_job

runner = CliRunner()
XGB = ["--hp", "objective=binary:logistic", "--hp", "num_round=8", "--content-type", "text/csv"]


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(moto_s3: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A client of the server, with the environment a local job's boto3 reads."""
    monkeypatch.chdir(tmp_path)
    return point_s3_at(moto_s3, monkeypatch, tmp_path)


@pytest.fixture
def get_objects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every GetObject the local runtime sends, counted on its own (real) client."""
    calls: list[str] = []
    make = s3_input.s3_client

    def counting() -> Any:
        client = make()
        client.meta.events.register(
            "provide-client-params.s3.GetObject", lambda params, **_: calls.append(params["Key"])
        )
        return client

    monkeypatch.setattr(s3_input, "s3_client", counting)
    return calls


def _put_dataset(s3: Any, bucket: str, local: Path) -> None:
    """The same CSV files locally and under s3://bucket/{train,validation}/."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((240, 4))
    y = (x[:, 0] - 0.5 * x[:, 1] > 0).astype(float)
    rows = np.column_stack([y, x])
    s3.create_bucket(Bucket=bucket)
    parts = {"train/part-0.csv": rows[:90], "train/part-1.csv": rows[90:180]}
    parts["validation/part-0.csv"] = rows[180:]
    for key, block in parts.items():
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        np.savetxt(local / key, block, delimiter=",", fmt="%.10g")
        s3.upload_file(str(local / key), bucket, key)


def _model_bytes(archive: Path) -> bytes:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("xgboost-model")
        assert member is not None
        return member.read()


def _train_from_s3(job_name: str) -> Any:
    channels = ["--train", "s3://fit-data/train/", "--validation", "s3://fit-data/validation/"]
    return runner.invoke(app, ["train", "--local", *channels, *XGB, "--job-name", job_name])


def test_a_local_fit_from_s3_gives_the_local_model_and_a_rerun_downloads_nothing(
    s3: Any, tmp_path: Path, get_objects: list[str]
) -> None:
    _put_dataset(s3, "fit-data", tmp_path / "local")
    local = runner.invoke(
        app,
        [
            "train",
            "--local",
            "--train",
            "local/train",
            "--validation",
            "local/validation",
            *XGB,
            "--job-name",
            "from-local",
        ],
    )
    assert local.exit_code == 0, local.output
    first = _train_from_s3("from-s3")
    assert first.exit_code == 0, first.output
    print(first.output)
    assert sorted(get_objects) == ["train/part-0.csv", "train/part-1.csv", "validation/part-0.csv"]
    assert "downloaded s3://fit-data/train/part-0.csv" in first.output  # not a TTY: a line each
    assert "train: s3://fit-data/train/: 2 objects, 2 downloaded (" in first.output

    get_objects.clear()
    second = _train_from_s3("from-s3-again")
    assert second.exit_code == 0, second.output
    print(second.output)
    assert get_objects == []
    assert "train: s3://fit-data/train/: 2 objects, 0 downloaded, all unchanged" in second.output
    assert "validation: s3://fit-data/validation/: 1 object, 0 downloaded" in second.output

    artifacts = tmp_path / ".sagestack" / "artifacts"
    models = {
        name: _model_bytes(artifacts / name / "output" / "model.tar.gz")
        for name in ("from-local", "from-s3", "from-s3-again")
    }
    assert models["from-s3"] == models["from-local"] == models["from-s3-again"]
    job_input = tmp_path / ".sagestack" / "jobs" / "from-s3" / "input" / "data"
    assert sorted(p.name for p in (job_input / "train").iterdir()) == ["part-0.csv", "part-1.csv"]


def test_a_changed_object_is_downloaded_again(
    s3: Any, tmp_path: Path, get_objects: list[str]
) -> None:
    s3.create_bucket(Bucket="changing")
    s3.put_object(Bucket="changing", Key="d/a.csv", Body=b"1,2\n")
    s3.put_object(Bucket="changing", Key="d/b.csv", Body=b"0,1\n")
    location = S3Location("changing", "d/")
    s3_input.fetch(location, channel="train")
    s3.put_object(Bucket="changing", Key="d/b.csv", Body=b"1,5\n")
    get_objects.clear()
    result = s3_input.fetch(location, channel="train")
    assert (result.downloaded, result.cached, get_objects) == (1, 1, ["d/b.csv"])
    assert dict(result.files)["b.csv"].read_bytes() == b"1,5\n"
    assert len(list(dict(result.files)["b.csv"].parent.parent.iterdir())) == 1  # old one gone


def test_a_terminal_gets_a_progress_bar(s3: Any, tmp_path: Path) -> None:
    from rich.console import Console

    s3.create_bucket(Bucket="tty")
    for index in range(3):
        s3.put_object(Bucket="tty", Key=f"d/{index}.csv", Body=b"1,2\n" * 1000)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    s3_input.fetch(S3Location("tty", "d/"), channel="train", console=console)
    shown = screen.getvalue()
    assert "3/3 objects" in shown and "━" in shown and "12.0/12.0 kB" in shown
    assert "downloaded s3://" not in shown  # the bar, not a line per file


def test_sharded_by_s3_key_deals_the_objects_out_to_the_local_hosts(
    s3: Any, tmp_path: Path
) -> None:
    s3.create_bucket(Bucket="sharded")
    keys = [f"shards/part-{i}.csv" for i in range(5)]
    for key in keys:
        s3.put_object(Bucket="sharded", Key=key, Body=b"1,0.5\n")
    code = tmp_path / "code"
    code.mkdir()
    (code / "ls.py").write_text(
        "import json, os\nprint(json.dumps(sorted(os.listdir(os.environ['SM_CHANNEL_TRAIN']))))\n"
    )
    source = S3Location("sharded", "shards/")
    result = run_training_job(
        TrainingJobSpec(
            inputs={"train": Channel(source=source, distribution="ShardedByS3Key")},
            source_dir=code,
            entry_point="ls.py",
            instance_count=2,
            job_name="sharded",
        ),
        stream_logs=False,
    )
    seen = {
        host: json.loads(path.read_text().strip().splitlines()[-1])
        for host, path in result.log_files.items()
    }
    # Key order, dealt out: algo-1 takes objects 0, 2, 4; algo-2 takes 1, 3.
    assert seen == {
        "algo-1": ["part-0.csv", "part-2.csv", "part-4.csv"],
        "algo-2": ["part-1.csv", "part-3.csv"],
    }


def _cli_error(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["train", "--local", *args, *XGB])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert len(lines) == 1, result.output
    return result.exit_code, lines[0]


def test_fails_in_one_line_without_credentials(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    s3.create_bucket(Bucket="no-creds")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, line = _cli_error("--train", "s3://no-creds/train/")
    assert code != 0
    assert line.startswith("s3://no-creds/train/: no AWS credentials found")


def test_fails_in_one_line_on_a_missing_bucket(s3: Any) -> None:
    code, line = _cli_error("--train", "s3://no-such-bucket/train/")
    assert code != 0
    assert line == "s3://no-such-bucket/train/: bucket 'no-such-bucket' does not exist"


def test_fails_in_one_line_on_an_empty_prefix(s3: Any, tmp_path: Path) -> None:
    s3.create_bucket(Bucket="empty-prefix")
    s3.put_object(Bucket="empty-prefix", Key="other/x.csv", Body=b"1,2\n")
    code, line = _cli_error("--train", "s3://empty-prefix/train/")
    assert code != 0
    assert line == "s3://empty-prefix/train/: no objects under this prefix (an empty prefix)"
    assert not (tmp_path / ".sagestack" / "jobs").exists()


def test_fails_in_one_line_when_access_is_denied(
    s3: Any, moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto checks IAM once its no-auth allowance is used up (its /moto-api/reset-auth);
    the user has keys but no policy, so ListObjectsV2 is denied."""
    s3.create_bucket(Bucket="denied")
    s3.put_object(Bucket="denied", Key="train/x.csv", Body=b"1,2\n")
    iam = boto3.session.Session().client("iam", endpoint_url=moto_s3)
    iam.create_user(UserName="no-s3")
    key = iam.create_access_key(UserName="no-s3")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    previous = requests.post(f"{moto_s3}/moto-api/reset-auth", data=b"0", timeout=10).json()
    try:
        code, line = _cli_error("--train", "s3://denied/train/")
    finally:
        requests.post(
            f"{moto_s3}/moto-api/reset-auth",
            data=str(previous["PREVIOUS_INITIAL_NO_AUTH_ACTION_COUNT"]).encode(),
            timeout=10,
        )
    assert code != 0
    assert line.startswith("s3://denied/train/: access denied to list it (ListObjectsV2")


def test_the_sdk_raises_its_own_errors(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sagestack import S3DataSource, SageStackError, TrainingInstance, XGBoostModel
    from sagestack.sdk.errors import CredentialsError, DataSourceError

    with pytest.raises(DataSourceError, match="bucket 'sdk-missing' does not exist"):
        XGBoostModel().fit(TrainingInstance("local"), S3DataSource("s3://sdk-missing/train/"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    run = XGBoostModel().fit(
        TrainingInstance("local"), S3DataSource("s3://sdk-missing/train/"), wait=False
    )
    with pytest.raises(CredentialsError, match="no AWS credentials found") as caught:
        run.wait()
    assert isinstance(caught.value, SageStackError)
