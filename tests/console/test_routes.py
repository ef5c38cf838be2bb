"""Route tests: every page, every error path, through Starlette's test client."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from console.conftest import csrf, make_csv
from sagestack.console import data, endpoints, forms, store


def test_every_page_answers_with_an_empty_store(client: TestClient) -> None:
    for page in ("/training-jobs", "/models/create", "/training-jobs/create", "/endpoints"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert "Traceback" not in response.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/training-jobs"
    assert "No training jobs yet" in client.get("/training-jobs").text


def test_htmx_is_vendored_and_served(client: TestClient) -> None:
    response = client.get("/static/htmx-2.0.11.min.js")
    assert response.status_code == 200 and "htmx" in response.text[:2000]
    licence = Path(data.__file__).parent / "static" / "htmx-LICENSE.txt"
    assert "Zero-Clause BSD" in licence.read_text()


def test_fails_on_a_foreign_host_header(client: TestClient) -> None:
    response = client.get("/training-jobs", headers={"Host": "attacker.example:8000"})
    assert response.status_code == 400
    assert "Bad Host header" in response.text


def test_fails_a_post_without_the_csrf_token(client: TestClient, store_dir: Path) -> None:
    client.get("/models/create")
    response = client.post("/models/create", data={"name": "x", "location": "/nope"})
    assert response.status_code == 403
    assert "CSRF" in response.text
    assert not store.records_dir().exists()


def test_fails_a_post_with_a_wrong_csrf_token(client: TestClient) -> None:
    csrf(client)
    response = client.post("/models/create", data={"name": "x", "csrf_token": "0" * 64})
    assert response.status_code == 403


def test_fails_an_upload_over_the_cap(client: TestClient, store_dir: Path) -> None:
    token = csrf(client)
    big = b"1,2,3\n" * ((4 << 20) // 6)
    response = client.post(
        "/models/create",
        data={"name": "big", "csrf_token": token},
        files={"data": ("big.csv", big, "text/csv")},
    )
    assert response.status_code == 413
    assert "MiB" in response.text
    assert not (store.data_dir() / "uploads").exists() or not any(
        (store.data_dir() / "uploads").iterdir()
    )


def test_fails_an_upload_over_the_cap_without_a_content_length_hint(
    client: TestClient, store_dir: Path
) -> None:
    """Under the request limit but over the file cap: caught while the file is copied."""
    token = csrf(client)
    response = client.post(
        "/models/create",
        data={"name": "big", "csrf_token": token},
        files={"data": ("big.csv", b"1,2,3\n" * ((5 << 19) // 6), "text/csv")},
    )
    assert response.status_code == 400
    assert "larger than the 2 MiB limit" in response.text
    assert not any((store.data_dir() / "uploads").iterdir())


def test_save_upload_keeps_the_cap_and_ignores_client_paths(store_dir: Path) -> None:
    import io

    path = data.save_upload(io.BytesIO(b"1,2\n"), "../../etc/passwd.csv")
    assert path.is_relative_to(store.data_dir() / "uploads")
    assert path.name == "passwd.csv"
    with pytest.raises(data.DataError, match="larger than"):
        data.save_upload(io.BytesIO(b"x" * 2048), "a.csv", cap=1024)
    assert data.upload_by_id("../../etc/passwd") is None


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "required"),
        ("-bad", "letters, digits or hyphens"),
        ("has_underscore", "letters, digits or hyphens"),
        ("x" * 64, "letters, digits or hyphens"),
    ],
)
def test_fails_create_model_with_a_bad_name(
    client: TestClient, tmp_path: Path, name: str, message: str
) -> None:
    csv = make_csv(tmp_path / "d.csv")
    token = csrf(client)
    response = client.post(
        "/models/create", data={"name": name, "location": str(csv), "csrf_token": token}
    )
    assert response.status_code == 400
    assert 'id="error-name"' in response.text and message in response.text
    assert not store.records_dir().exists()


def test_fails_create_model_without_data(client: TestClient) -> None:
    token = csrf(client)
    response = client.post("/models/create", data={"name": "m1", "csrf_token": token})
    assert response.status_code == 400
    assert "Upload a file or give the data" in response.text


@pytest.mark.parametrize(
    ("location", "message"),
    [("/does/not/exist.csv", "does not exist"), ("hdfs://nn/data.csv", "does not exist")],
)
def test_fails_create_model_with_a_bad_location(
    client: TestClient, location: str, message: str
) -> None:
    token = csrf(client)
    response = client.post(
        "/models/create", data={"name": "m1", "location": location, "csrf_token": token}
    )
    assert response.status_code == 400 and message in response.text


def test_fails_create_model_on_non_numeric_features(client: TestClient, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n" + "".join(f"x{i},{i},{i % 2}\n" for i in range(30)))
    token = csrf(client)
    response = client.post(
        "/models/create", data={"name": "m1", "location": str(bad), "csrf_token": token}
    )
    assert response.status_code == 400
    assert "non-numeric feature column(s) a" in response.text
    assert not store.records_dir().exists()


def test_fails_create_model_on_a_bad_label_column(client: TestClient, tmp_path: Path) -> None:
    csv = make_csv(tmp_path / "d.csv")
    token = csrf(client)
    response = client.post(
        "/models/create",
        data={"name": "m1", "location": str(csv), "label": "nope", "csrf_token": token},
    )
    assert response.status_code == 400 and "no column &#39;nope&#39;" in response.text


def test_prepare_infers_the_objective_and_holds_out_validation(
    store_dir: Path, tmp_path: Path
) -> None:
    binary = data.prepare(make_csv(tmp_path / "b.csv"), "b")
    assert binary.objective == "binary:logistic" and binary.rows == (160, 40)
    first = (binary.train / "train.csv").read_text().splitlines()[0].split(",")
    assert first[0] in ("0", "1") and len(first) == 5
    multi = data.prepare(make_csv(tmp_path / "m.csv", labels="names"), "m")
    assert multi.objective == "multi:softprob" and multi.num_class == 3
    assert any("high -> 0" in note for note in multi.notes)
    reg = data.prepare(make_csv(tmp_path / "r.csv", labels="float", header=False), "r", "5")
    assert reg.objective == "reg:squarederror"


def test_preview_warns_about_header_ragged_rows_and_text(store_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("f1,label,f2\n1,0,2\n3,1\n4,abc,5\n")
    warnings = " | ".join(data.preview(path, "text/csv").warnings)
    assert "header row" in warnings
    assert "label column 'label' is column 2" in warnings
    assert "Ragged rows: row 3" in warnings
    assert "Non-numeric value 'abc' in row 4" in warnings
    labels = tmp_path / "l.csv"
    labels.write_text("2,1.0\n0,2.0\n")
    assert "do not fit binary:logistic" in " ".join(
        data.preview(labels, "text/csv", "binary:logistic").warnings
    )


def test_hyperparameter_checks_name_the_field() -> None:
    assert "did you mean max_depth" in forms.check_hyperparameters({"max_dept": "3"})["max_dept"]
    errors = forms.check_hyperparameters({"num_round": "10", "objective": "multi:softprob"})
    assert "num_class is required" in errors["num_class"]
    errors = forms.check_hyperparameters({"num_round": "10", "eta": "2"})
    assert "out of range" in errors["eta"]
    assert forms.check_hyperparameters(forms.default_hyperparameters("binary:logistic")) == {}


def _job_form(token: str, **overrides: str) -> dict[str, str]:
    form = {
        "csrf_token": token,
        "job_name": "job-1",
        "content_type": "text/csv",
        "instance_count": "1",
    }
    for index, (key, value) in enumerate(forms.default_hyperparameters("binary:logistic").items()):
        form[f"hp_name_{index}"] = key
        form[f"hp_value_{index}"] = value
    form.update(overrides)
    return form


def test_fails_create_training_job_with_errors_beside_each_field(
    client: TestClient, tmp_path: Path
) -> None:
    token = csrf(client, "/training-jobs/create")
    response = client.post(
        "/training-jobs/create",
        data=_job_form(
            token,
            job_name="bad_name",
            train_location="/nowhere",
            instance_count="0",
            hp_name_90="max_dept",
            hp_value_90="3",
        ),
    )
    assert response.status_code == 400
    text = response.text
    assert 'id="error-job_name"' in text
    assert 'id="error-train"' in text and "does not exist" in text
    assert 'id="error-instance_count"' in text
    assert "did you mean max_depth" in text
    assert 'value="max_dept"' in text  # the table keeps what was typed
    assert not store.records_dir().exists()


def test_fails_create_training_job_with_a_duplicate_name(
    client: TestClient, tmp_path: Path
) -> None:
    (store.jobs_dir() / "job-1").mkdir(parents=True)
    token = csrf(client, "/training-jobs/create")
    csv = make_csv(tmp_path / "d.csv", header=False)
    response = client.post("/training-jobs/create", data=_job_form(token, train_location=str(csv)))
    assert response.status_code == 400 and "already exists" in response.text


def test_fails_early_stopping_without_validation(client: TestClient, tmp_path: Path) -> None:
    token = csrf(client, "/training-jobs/create")
    csv = make_csv(tmp_path / "d.csv", header=False)
    response = client.post("/training-jobs/create", data=_job_form(token, train_location=str(csv)))
    assert response.status_code == 400
    assert "early_stopping_rounds needs a validation channel" in response.text


def test_preview_uploads_into_the_data_store(client: TestClient, tmp_path: Path) -> None:
    token = csrf(client, "/training-jobs/create")
    csv = make_csv(tmp_path / "d.csv").read_bytes()
    response = client.post(
        "/training-jobs/preview",
        data={"csrf_token": token, "channel": "train", "content_type": "text/csv"},
        files={"train_file": ("my data.csv", csv, "text/csv")},
    )
    assert response.status_code == 200
    assert "header row" in response.text
    assert 'name="train_upload_id"' in response.text
    assert list((store.data_dir() / "uploads").glob("*/my-data.csv"))


def test_unknown_job_and_endpoint_pages_are_404_pages(client: TestClient) -> None:
    for page in (
        "/training-jobs/nope",
        "/training-jobs/nope/log",
        "/training-jobs/nope/code",
        "/training-jobs/bad..name",
        "/endpoints/nope",
        "/nothing-here",
    ):
        response = client.get(page)
        assert response.status_code == 404, page
        assert "Traceback" not in response.text


def test_compare_needs_two_jobs(client: TestClient) -> None:
    response = client.get("/compare?jobs=a")
    assert response.status_code == 400 and "two or more" in response.text


def test_cli_jobs_appear_with_an_inferred_status(client: TestClient) -> None:
    """A job dir written by the CLI/SDK (no console record) is listed and shown."""
    job = store.jobs_dir() / "cli-job"
    (job / "logs").mkdir(parents=True)
    (job / "logs" / "algo-1.log").write_text(
        "[0]\ttrain-rmse:1.5\tvalidation-rmse:1.7\n[1]\ttrain-rmse:1.1\tvalidation-rmse:1.3\n"
    )
    (job / "output").mkdir()
    (job / "output" / "failure").write_text("Bad data: row 3")
    listing = client.get("/training-jobs").text
    assert "cli-job" in listing and "Failed" in listing and "validation:rmse = 1.3" in listing
    detail = client.get("/training-jobs/cli-job").text
    assert "Bad data: row 3" in detail and "<svg" in detail
    log = client.get("/training-jobs/cli-job/log?offset=0").text
    assert "validation-rmse:1.7" in log
    offset = len((job / "logs" / "algo-1.log").read_bytes())
    assert "rmse" not in client.get(f"/training-jobs/cli-job/log?offset={offset}").text


def test_an_endpoint_whose_process_died_is_failed(client: TestClient) -> None:
    store.write_json(
        endpoints.record_path("gone"),
        {"name": "gone", "status": "InService", "pid": 2**22 + 12345, "url": "http://x"},
    )
    assert "s-failed" in client.get("/endpoints").text
    token = csrf(client, "/endpoints/gone")
    response = client.post(
        "/endpoints/gone/invoke",
        data={"csrf_token": token, "body": "1,2", "content_type": "text/csv"},
    )
    assert "only an InService endpoint answers" in response.text


def test_hyperparameter_table_follows_the_objective(client: TestClient) -> None:
    multi = client.get("/training-jobs/hyperparameters?objective_defaults=multi:softprob").text
    assert 'value="num_class"' in multi and 'value="mlogloss"' in multi
    reg = client.get("/training-jobs/hyperparameters?objective_defaults=reg:squarederror").text
    assert 'value="rmse"' in reg and "num_class" not in reg
    unknown = client.get("/training-jobs/hyperparameters?objective_defaults=<x>").text
    assert 'value="binary:logistic"' in unknown
    assert 'hx-get="/training-jobs/hyperparameters"' in client.get("/training-jobs/create").text


def test_evaluation_plots_are_shown_and_only_listed_ones_served(client: TestClient) -> None:
    job = store.jobs_dir() / "cli-job"
    (job / "output" / "data").mkdir(parents=True)
    (job / "output" / "data" / "roc_curve.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (job / "output" / "data" / "other.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    store.write_json(
        job / "output" / "data" / "evaluation.json", {"plots": ["roc_curve.png"], "rows": {}}
    )
    detail = client.get("/training-jobs/cli-job").text
    assert 'src="/training-jobs/cli-job/plots/roc_curve.png"' in detail
    plot = client.get("/training-jobs/cli-job/plots/roc_curve.png")
    assert plot.status_code == 200 and plot.headers["content-type"] == "image/png"
    for file in ("other.png", "evaluation.json", "..%2Fevaluation.json"):
        assert client.get(f"/training-jobs/cli-job/plots/{file}").status_code == 404, file
