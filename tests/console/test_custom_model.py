"""The Create training job form with a user's Model subclass (``module:Class`` from a file):
field errors without running the file, then a job, a deployment and a prediction through the
same runner, packaging and server the SDK's fit()/deploy() use."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient
from waiting import wait_until

from console.conftest import BASE, HOST, PORT, csrf, ended_record
from sagestack.console import create_app, endpoints, store

MODEL = '''
import numpy as np
from sagestack import Model

class MeanModel(Model):
    """Predicts the mean label of the train channel."""

    def train(self, train, validation, hyperparameters):
        return float(np.mean(train.y)) + float(hyperparameters.get("shift", 0))

    def predict(self, model, features):
        return np.full(len(features), model)
'''


def _form(token: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "job_name": "custom-1",
        "algorithm": "custom",
        "content_type": "text/csv",
        "instance_count": "1",
        **fields,
    }


@pytest.mark.parametrize(
    ("model_class", "model_file", "field", "message"),
    [
        ("mean_model.MeanModel", "{dir}/mean_model.py", "model_class", "module:Class"),
        ("mean_model:MeanModel", "{dir}/missing.py", "model_file", "is not a .py file"),
        ("other:MeanModel", "{dir}/mean_model.py", "model_class", "is &#39;mean_model&#39;"),
        ("mean_model:Nope", "{dir}/mean_model.py", "model_class", "no top-level class Nope"),
        ("broken:Broken", "{dir}/broken.py", "model_file", "does not parse"),
    ],
)
def test_fails_a_custom_model_with_the_error_beside_its_field(
    client: TestClient, tmp_path: Path, model_class: str, model_file: str, field: str, message: str
) -> None:
    (tmp_path / "mean_model.py").write_text(MODEL)
    (tmp_path / "broken.py").write_text("class Broken(:\n")
    (tmp_path / "train.csv").write_text("1,0.5\n0,0.1\n")
    token = csrf(client, "/training-jobs/create")
    form = _form(
        token,
        model_class=model_class,
        model_file=model_file.format(dir=tmp_path),
        train_location=str(tmp_path / "train.csv"),
    )
    response = client.post("/training-jobs/create", data=form)
    assert response.status_code == 400
    assert f'id="error-{field}"' in response.text and message in response.text
    assert not store.records_dir().exists()


@pytest.mark.slow
def test_a_custom_model_trains_deploys_and_predicts(client: TestClient, tmp_path: Path) -> None:
    (tmp_path / "mean_model.py").write_text(MODEL)
    rng = np.random.default_rng(3)
    rows = np.column_stack([rng.integers(0, 2, 50), rng.normal(size=(50, 2))])
    np.savetxt(tmp_path / "train.csv", rows, delimiter=",", fmt="%.6g")
    token = csrf(client, "/training-jobs/create")
    form = _form(
        token,
        model_class="mean_model:MeanModel",
        model_file=str(tmp_path / "mean_model.py"),
        train_location=str(tmp_path / "train.csv"),
        hp_name_1="shift",
        hp_value_1="10",
    )
    response = client.post("/training-jobs/create", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    record = ended_record("custom-1")
    assert record["status"] == "Completed", record.get("failure_reason")
    code = client.get("/training-jobs/custom-1/code").text
    assert "from mean_model import MeanModel" in code and "sagestack_train.py" in code
    token = csrf(client, "/training-jobs/custom-1")
    client.post(
        "/training-jobs/custom-1/deploy",
        data={"csrf_token": token, "endpoint_name": "custom-ep", "workers": "1"},
    )
    try:
        wait_until(
            lambda: endpoints.get_endpoint("custom-ep").status != endpoints.CREATING,  # type: ignore[union-attr]
            60,
            "the endpoint to start",
        )
        row = endpoints.get_endpoint("custom-ep")
        assert row is not None and row.status == endpoints.IN_SERVICE, row
        # A console restart: a new app over the same store still shows the job and the running
        # endpoint, and the endpoint answers through it.
        restarted = TestClient(create_app(HOST, PORT, max_upload_bytes=2 << 20), base_url=BASE)
        jobs = restarted.get("/training-jobs").text
        assert "custom-1" in jobs and "Completed" in jobs
        listed = restarted.get("/endpoints").text
        assert "custom-ep" in listed and "InService" in listed
        answer = restarted.post(
            "/endpoints/custom-ep/invoke",
            data={
                "csrf_token": csrf(restarted, "/endpoints/custom-ep"),
                "body": "0.1,0.2\n0.3,0.4",
                "content_type": "text/csv",
                "accept": "text/csv",
            },
        ).text
        assert 'id="invoke-status">200<' in answer
        body = re.search(r'id="invoke-response">([^<]*)<', answer)
        assert body is not None, answer
        got = np.loadtxt(io.StringIO(body.group(1)), delimiter=",", ndmin=1)
        np.testing.assert_allclose(got, [np.mean(rows[:, 0]) + 10] * 2)
    finally:
        endpoints.delete("custom-ep")
