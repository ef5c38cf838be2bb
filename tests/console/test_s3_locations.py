"""The console's location fields take s3:// where S3 is reachable (moto on loopback)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from moto_loopback import moto_server, point_s3_at
from starlette.testclient import TestClient

from sagestack.console import forms, store

from .conftest import csrf, ended_record


@pytest.fixture(scope="module")
def moto_s3() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(moto_s3: str, store_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    client = point_s3_at(moto_s3, monkeypatch, tmp_path)
    client.create_bucket(Bucket="console-data")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 3))
    rows = np.column_stack([(x[:, 0] + x[:, 1] > 0).astype(float), x])  # label first
    for channel, block in (("train", rows[:160]), ("validation", rows[160:])):
        buffer = io.BytesIO()
        np.savetxt(buffer, block, delimiter=",", fmt="%.6g")
        client.put_object(
            Bucket="console-data", Key=f"{channel}/part-0.csv", Body=buffer.getvalue()
        )
    return client


def _form(token: str, **fields: str) -> dict[str, str]:
    form = {"csrf_token": token, "job_name": "s3-job", "content_type": "text/csv"}
    form["instance_count"] = "1"
    hyperparameters = forms.default_hyperparameters("binary:logistic")
    for index, (key, value) in enumerate(hyperparameters.items()):
        form |= {f"hp_name_{index}": key, f"hp_value_{index}": value}
    return form | fields


def test_a_training_job_reads_its_channels_from_s3(client: TestClient, s3: Any) -> None:
    token = csrf(client, "/training-jobs/create")
    preview = client.post(
        "/training-jobs/preview",
        data={
            "csrf_token": token,
            "channel": "train",
            "content_type": "text/csv",
            "train_location": "s3://console-data/train/",
        },
    )
    assert preview.status_code == 200 and "part-0.csv" in preview.text
    response = client.post(
        "/training-jobs/create",
        data=_form(
            token,
            train_location="s3://console-data/train/",
            validation_location="s3://console-data/validation/",
        ),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    record = ended_record("s3-job")
    assert record["status"] == "Completed", record.get("failure_reason")
    assert record["channels"]["train"]["path"] == "s3://console-data/train/"
    data = store.jobs_dir() / "s3-job" / "input" / "data"
    assert [p.name for p in (data / "validation").iterdir()] == ["part-0.csv"]
    code = client.get("/training-jobs/s3-job/code").text
    assert "S3DataSource(&#39;s3://console-data/train/&#39;" in code


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("s3://console-missing/train/", "bucket &#39;console-missing&#39; does not exist"),
        ("s3://console-data/nothing-here/", "no objects under this prefix"),
    ],
)
def test_fails_a_location_s3_cannot_serve_beside_the_field(
    client: TestClient, s3: Any, location: str, message: str
) -> None:
    token = csrf(client, "/training-jobs/create")
    response = client.post("/training-jobs/create", data=_form(token, train_location=location))
    assert response.status_code == 400
    assert 'id="error-train"' in response.text and message in response.text
    assert not store.records_dir().exists()
