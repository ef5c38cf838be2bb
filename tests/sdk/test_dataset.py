"""Dataset reading (label-first CSV channels) and the request/response codecs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sagestack import Dataset
from sagestack.sdk.dataset import (
    MediaTypeError,
    decode_features,
    decode_predictions,
    encode_predictions,
    format_csv,
)


def test_channel_files_are_read_in_key_order_skipping_markers(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "a.csv").write_text("1,0.5,2\n0,,3\n")  # an empty field is a missing value
    (tmp_path / "b" / "c.csv").write_text("1,9,9\n")
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".a.csv.crc").write_text("junk")
    data = Dataset.from_csv(tmp_path)
    assert [Path(f).name for f in data.files] == ["a.csv", "c.csv"]
    assert data.y.tolist() == [1.0, 0.0, 1.0]
    assert data.X.shape == (3, 2) and math.isnan(data.X[1, 0])
    assert len(data) == 3 and data.num_features == 2


def test_fails_on_a_label_only_file(tmp_path: Path) -> None:
    (tmp_path / "y.csv").write_text("1\n0\n")
    with pytest.raises(ValueError, match="one column only; CSV channels need the label"):
        Dataset.from_csv(tmp_path)


def test_fails_on_a_class_name_label_saying_how_to_encode_it(tmp_path: Path) -> None:
    (tmp_path / "iris.csv").write_text("0,5.1,3.5\nsetosa,4.9,3.0\n")
    with pytest.raises(ValueError, match=r"line 2, column 1: 'setosa' is not a number\. Labels"):
        Dataset.from_csv(tmp_path)


def test_fails_on_ragged_rows_naming_the_line(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("1,2,3\n0,1\n")
    with pytest.raises(ValueError, match="r.csv: line 2 has 2 columns, the first has 3"):
        Dataset.from_csv(tmp_path)


def test_requests_decode_from_csv_and_json() -> None:
    assert decode_features("1,2\n3,4", "text/csv; charset=utf-8").tolist() == [[1, 2], [3, 4]]
    assert decode_features(b'{"instances": [[1, 2]]}', "application/json").tolist() == [[1, 2]]
    assert decode_features("[1, 2, 3]", "application/json").shape == (1, 3)
    with pytest.raises(MediaTypeError) as raised:
        decode_features("1,2", "text/libsvm")
    assert raised.value.status == 415


def test_predictions_round_trip_through_both_formats() -> None:
    predictions = np.array([0.1, 0.25, math.nan])
    body, content_type = encode_predictions(predictions, "text/csv")
    assert (body, content_type) == ("0.1\n0.25\nnan", "text/csv")
    back = decode_predictions(body.encode(), content_type)
    assert back.shape == (3,) and back[1] == 0.25 and math.isnan(back[2])
    matrix = np.array([[1.0, 0.9], [0.0, 0.2]])
    body, content_type = encode_predictions(matrix, "application/json")
    np.testing.assert_array_equal(decode_predictions(body.encode(), content_type), matrix)
    with pytest.raises(MediaTypeError) as raised:
        encode_predictions(matrix, "application/xml")
    assert raised.value.status == 406


def test_csv_keeps_shortest_exact_floats_and_labels() -> None:
    assert format_csv([[0.1, 1e-20], [3.0, math.nan]]) == "0.1,1e-20\n3.0,"  # a request
    assert format_csv([math.nan], missing="nan") == "nan"  # a response
    assert format_csv(np.array(["cat", "dog"])) == "cat\ndog"
