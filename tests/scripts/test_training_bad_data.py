"""Bad data and bad hyperparameters fail the job with one actionable line and a non-zero exit."""

from __future__ import annotations

import io

import numpy as np
import pytest
from scripts_support import Job, binary_data, csv_text

BINARY = ["--num_round", "3", "--objective", "binary:logistic"]


def assert_fails(job: Job, argv: list[str], *phrases: str) -> str:
    assert job.run(argv) == 1
    message = job.failure()
    assert message, "no failure file written"
    assert "\n" not in message and len(message) <= 1024
    for phrase in phrases:
        assert phrase in message, message
    assert not (job.model_dir / "xgboost-model").exists()
    return message


def test_fails_on_a_misspelt_hyperparameter_before_training(binary_job: Job):
    # A job started elsewhere (console, Step Functions) gets the same check as the SDK.
    assert_fails(binary_job, [*BINARY, "--max_dept", "3"], "max_dept (did you mean max_depth")


def test_fails_without_train_channel(job: Job):
    job.write_configs({"num_round": 3}, {})
    assert_fails(job, BINARY, "Missing required channel 'train'")


def test_fails_on_channel_with_only_hidden_files(job: Job):
    job.write_channel("train", {"_SUCCESS": "", ".hidden.csv": "1,2\n"})
    job.write_configs({}, {"train": "text/csv"})
    assert_fails(job, BINARY, "no data files", "starting with . or _ are ignored")


def test_fails_on_empty_file(binary_job: Job):
    binary_job.write_channel("train", {"part-1.csv": ""})
    assert_fails(binary_job, BINARY, "part-1.csv is empty")


def test_fails_on_non_numeric_value_naming_file_line_and_column(binary_job: Job):
    y, x = binary_data(rows=50)
    lines = csv_text(y, x).splitlines()
    fields = lines[36].split(",")
    fields[3] = "abc"
    lines[36] = ",".join(fields)
    binary_job.write_channel("train", {"part-0.csv": "\n".join(lines) + "\n"})
    assert_fails(binary_job, BINARY, "part-0.csv: line 37, column 4", "'abc', not a number")


def test_fails_on_number_with_trailing_junk_that_xgboost_would_truncate(binary_job: Job):
    binary_job.write_channel("train", {"part-0.csv": "1,0.5,2\n0,3x,4\n1,1,1\n"})
    assert_fails(binary_job, BINARY, "line 2, column 2", "'3x'")


def test_fails_on_header_row_with_hint(binary_job: Job):
    y, x = binary_data(rows=20)
    binary_job.write_channel("train", {"part-0.csv": "label,a,b,c,d\n" + csv_text(y, x)})
    assert_fails(binary_job, BINARY, "line 1, column 1", "header row")


@pytest.mark.parametrize("line", [1, 7])
def test_fails_on_string_class_labels_saying_how_to_encode_them(binary_job: Job, line: int):
    lines = [f"{name},5.1,3.5,1.4,0.2" for name in ("setosa", "versicolor") * 10]
    lines[: line - 1] = ["0,5.1,3.5,1.4,0.2"] * (line - 1)
    binary_job.write_channel("train", {"part-0.csv": "\n".join(lines) + "\n"})
    message = assert_fails(
        binary_job, BINARY, f"line {line}, column 1 (the label)", "class labels 0..K-1", "factorize"
    )
    assert "header" not in message


@pytest.mark.parametrize(
    ("row", "phrase"),
    [("1,2\n", "line 3 has 2 fields but the first row has 5"), ("1,2,3,4,5,6\n", "line 3 has 6")],
    ids=["short", "long"],
)
def test_fails_on_rows_of_different_widths(binary_job: Job, row: str, phrase: str):
    y, x = binary_data(rows=10)
    lines = csv_text(y, x).splitlines(keepends=True)
    lines.insert(2, row)
    binary_job.write_channel("train", {"part-0.csv": "".join(lines)})
    assert_fails(binary_job, BINARY, "part-0.csv", phrase)


def test_fails_on_label_outside_binary_range(binary_job: Job):
    binary_job.write_channel("train", {"part-0.csv": "0,1,2\n1,3,4\n2,5,6\n"})
    assert_fails(
        binary_job, BINARY, "line 3", "label is 2", "binary:logistic needs labels in [0, 1]"
    )


def test_fails_on_label_at_or_above_num_class(binary_job: Job):
    binary_job.write_channel("train", {"part-0.csv": "0,1,2\n1,3,4\n2,5,6\n3,7,8\n"})
    argv = ["--num_round", "2", "--objective", "multi:softprob", "--num_class", "3"]
    assert_fails(binary_job, argv, "line 4", "label is 3", "num_class=3 needs integer labels 0..2")


def test_fails_on_nan_label(binary_job: Job):
    binary_job.write_channel("train", {"part-0.csv": "0,1,2\nnan,3,4\n"})
    assert_fails(binary_job, BINARY, "line 2", "label is missing or NaN")


def test_fails_on_empty_label_which_xgboost_would_read_as_zero(binary_job: Job):
    binary_job.write_channel("train", {"part-0.csv": "0,1,2\n,3,4\n1,5,6\n"})
    assert_fails(binary_job, BINARY, "line 2, column 1 (the label) is empty")


def test_fails_on_infinite_feature(binary_job: Job):
    binary_job.write_channel("train", {"part-0.csv": "0,1,2\n1,inf,4\n"})
    assert_fails(binary_job, BINARY, "line 2, column 2", "infinite")


def test_fails_on_files_of_different_widths(binary_job: Job):
    binary_job.write_channel("train", {"part-1.csv": "0,1,2\n1,3,4\n"})
    assert_fails(binary_job, BINARY, "part-1.csv has 2 features", "part-0.csv has 4")


def test_fails_on_csv_read_as_libsvm_with_content_type_hint(binary_job: Job):
    binary_job.write_configs({}, {"train": None, "validation": "text/csv"})
    assert_fails(binary_job, BINARY, "line 1", "looks like CSV", "ContentType to text/csv")


def test_fails_on_malformed_libsvm_without_crashing(job: Job):
    # xgboost's own libsvm parser segfaults on a non-numeric label; we must catch it first.
    job.write_channel("train", {"a.libsvm": "1 0:1.5 2:3\nx 0:1\n"})
    job.write_configs({}, {"train": "text/libsvm"})
    assert_fails(job, BINARY, "a.libsvm: line 2, token 1 is 'x'")


def test_fails_on_non_numeric_parquet_column(job: Job):
    import pandas as pd

    frame = pd.DataFrame({"label": [0, 1], "f0": [1.0, 2.0], "city": ["a", "b"]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    job.write_channel("train", {"a.parquet": buffer.getvalue()})
    job.write_configs({}, {"train": "application/x-parquet"})
    assert_fails(job, BINARY, "column 3 'city'", "must be all numeric")


def test_fails_on_unsupported_content_type(binary_job: Job):
    binary_job.write_configs({}, {"train": "application/x-recordio-protobuf"})
    assert_fails(binary_job, BINARY, "ContentType 'application/x-recordio-protobuf'")


def test_fails_on_pipe_mode(binary_job: Job):
    config = binary_job.root / "input" / "config" / "inputdataconfig.json"
    config.write_text('{"train": {"ContentType": "text/csv", "TrainingInputMode": "Pipe"}}')
    assert_fails(binary_job, BINARY, "Pipe input mode")


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["--objective", "binary:logistic"], "Missing required hyperparameter num_round"),
        (["--num_round", "ten"], "num_round='ten' is not a whole number"),
        (["--num_round", "3", "--objective", "binary:logstic"], "objective='binary:logstic'"),
        (["--num_round", "3", "--objective", "multi:softmax"], "num_class is required"),
        (["--num_round", "3", "--eta", "2"], "eta='2' is out of range (0, 1]"),
        (["--num_round", "3", "--max_depth", "deep"], "max_depth='deep' is not a whole number"),
        (["--num_round", "3", "--eval_metric", "accuracy"], "unknown metric 'accuracy'"),
        (["--num_round", "3", "--early_stopping_rounds", "x"], "early_stopping_rounds='x'"),
        (["--num_round", "3", "--tree_method", "magic"], "XGBoost rejected the job"),
    ],
)
def test_fails_on_bad_hyperparameters(binary_job: Job, argv: list[str], phrase: str):
    binary_job.write_configs({}, {"train": "text/csv", "validation": "text/csv"})
    assert_fails(binary_job, argv, phrase)


def test_fails_on_early_stopping_without_validation(job: Job):
    y, x = binary_data()
    job.write_channel("train", {"a.csv": csv_text(y, x)})
    job.write_configs({}, {"train": "text/csv"})
    assert_fails(job, [*BINARY, "--early_stopping_rounds", "2"], "needs a validation channel")


def test_missing_feature_values_are_accepted(binary_job: Job):
    y, x = binary_data(rows=60)
    lines = csv_text(y, x).splitlines()
    fields = lines[5].split(",")
    fields[2] = ""
    lines[5] = ",".join(fields)
    fields = lines[9].split(",")
    fields[4] = "nan"
    lines[9] = ",".join(fields)
    binary_job.write_channel("train", {"part-0.csv": "\n".join(lines) + "\n"})
    assert binary_job.run(BINARY) == 0, binary_job.failure()


def test_label_problem_is_pure_and_finds_first_bad_row():
    import label_checks

    labels = np.array([0, 1, 1, 0.5, 3], dtype=np.float32)
    assert label_checks.label_problem(labels, "reg:squarederror", None) is None
    row, reason = label_checks.label_problem(labels, "binary:logistic", None)
    assert row == 4 and "is 3" in reason
    row, _ = label_checks.label_problem(labels, "multi:softmax", 4)
    assert row == 3  # 0.5 is not an integer class
