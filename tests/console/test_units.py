"""Unit tests of the console's small pieces: allowed hosts, form fields, clone names, uploads."""

from __future__ import annotations

from pathlib import Path

from sagestack.console import endpoints, forms, jobs, security, store, uploads
from sagestack.sdk.backends import local


def test_loopback_also_answers_to_localhost() -> None:
    assert security.allowed_hosts("127.0.0.1", 8000) == {"127.0.0.1:8000", "localhost:8000"}
    assert security.allowed_hosts("Console.Example", 80) == {"console.example:80"}


def test_int_field_keeps_the_default_when_blank_or_bad() -> None:
    errors: dict[str, str] = {}
    assert forms.int_field({"n": " 3 "}, "n", 1, 1, 8, errors) == 3
    assert forms.int_field({"n": ""}, "n", None, 1, 8, errors) is None
    assert errors == {}
    assert forms.int_field({"n": "9"}, "n", 1, 1, 8, errors) == 1
    assert errors == {"n": "A whole number from 1 to 8."}


def test_fails_name_and_algorithm_with_an_error_per_field(store_dir: Path) -> None:
    errors: dict[str, str] = {}
    name = forms.check_name_and_algorithm({"name": " -bad ", "algorithm": "knn"}, "name", errors)
    assert name == "-bad"
    assert set(errors) == {"name", "algorithm"}
    assert "Only the built-in XGBoost" in errors["algorithm"]


def test_clone_names_skip_taken_ones(store_dir: Path) -> None:
    store.write_json(store.record_path("demo-2"), {"job_name": "demo-2"})
    assert jobs.next_name("demo") == "demo-3"


def test_only_uploads_get_an_upload_id(store_dir: Path, tmp_path: Path) -> None:
    assert uploads.upload_id_of(None) == ""
    assert uploads.upload_id_of(tmp_path / "elsewhere.csv") == ""


def test_endpoint_records_are_where_the_sdk_and_cli_look(store_dir: Path) -> None:
    assert endpoints.endpoints_dir() == local.endpoints_dir()


def test_long_curves_are_thinned_keeping_the_last_point() -> None:
    from sagestack.console import charts

    values = [(i, float(i)) for i in range(10_001)]
    kept = charts.thin(values)
    assert len(kept) <= charts.MAX_POINTS + 1 and kept[0] == values[0] and kept[-1] == values[-1]
    assert charts.thin(values[:10]) == values[:10]
    assert charts.line_chart("auc", {"train": values}).count(",") <= charts.MAX_POINTS + 1
