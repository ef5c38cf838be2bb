"""Serving handlers, called the way the XGBoost image's sagemaker-containers Transformer does."""

from __future__ import annotations

import json
import tracemalloc

import decoders
import flask
import numpy as np
import pytest
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import inference

FEATURES = 4
RNG = np.random.default_rng(7)
X = RNG.standard_normal((120, FEATURES)).astype(np.float32)


def _model(tmp_path_factory, name: str, params: dict, labels: np.ndarray) -> inference.ServingModel:
    booster = xgb.train(params, xgb.DMatrix(X, label=labels), 8)
    directory = tmp_path_factory.mktemp(name)
    (directory / "xgboost-model").write_bytes(booster.save_raw("ubj"))
    return inference.model_fn(str(directory))


@pytest.fixture(scope="module")
def binary(tmp_path_factory):
    return _model(tmp_path_factory, "binary", {"objective": "binary:logistic"}, X[:, 0] > 0)


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory):
    labels = np.digitize(X[:, 0], [-0.5, 0.5])
    params = {"objective": "multi:softprob", "num_class": 3}
    return _model(tmp_path_factory, "multi", params, labels)


@pytest.fixture(scope="module")
def softmax(tmp_path_factory):
    labels = np.digitize(X[:, 0], [-0.5, 0.5])
    params = {"objective": "multi:softmax", "num_class": 3}
    return _model(tmp_path_factory, "softmax", params, labels)


@pytest.fixture(scope="module")
def regression(tmp_path_factory):
    return _model(tmp_path_factory, "reg", {"objective": "reg:squarederror"}, X @ [1, 2, 3, 4])


def csv_body(rows: np.ndarray) -> str:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows)


def container_call(model, body: bytes, content_type: str | None, accept: str | None):
    """What sagemaker-containers does around transform_fn: body is str only for exactly
    text/csv or application/json, a missing Content-Type means application/json, a missing
    Accept or */* means SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT, and a tuple becomes a Response."""
    content_type = content_type or "application/json"
    content = body.decode() if content_type in ("text/csv", "application/json") else body
    if not accept or accept == "*/*":
        accept = "application/json"
    result = inference.transform_fn(model, content, content_type, accept)
    if isinstance(result, tuple):
        return flask.Response(response=result[0], status=200, mimetype=result[1])
    return result


def ok(response) -> str:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def error(response, status: int, *phrases: str) -> str:
    assert response.status_code == status
    message = response.get_data(as_text=True)
    for phrase in phrases:
        assert phrase in message, message
    return message


def test_hooks_are_the_transform_fn_style_only():
    # The container raises if transform_fn is combined with input_fn/predict_fn/output_fn.
    assert callable(inference.model_fn) and callable(inference.transform_fn)
    for name in ("input_fn", "predict_fn", "output_fn"):
        assert not hasattr(inference, name)


def test_model_fn_reads_the_objective_and_width(binary, multiclass):
    assert (binary.objective, binary.num_features, binary.kind) == ("binary:logistic", 4, "binary")
    assert (multiclass.num_class, multiclass.kind) == (3, "multiclass")


def test_model_fn_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No xgboost-model"):
        inference.model_fn(str(tmp_path))


@pytest.mark.parametrize("trailing", ["", "\n", "\r\n"])
@pytest.mark.parametrize("content_type", ["text/csv", "text/csv; charset=utf-8", "Text/CSV"])
def test_csv_single_row_any_newline_and_content_type_params(binary, trailing, content_type):
    body = (csv_body(X[:1]) + trailing).encode()
    out = ok(container_call(binary, body, content_type, "text/csv"))
    label, probability = out.split(",")
    expected = binary.booster.inplace_predict(X[:1])[0]
    assert int(label) == int(expected > 0.5)
    assert float(probability) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("rows", [3, 100])  # below and above the pandas threshold
def test_csv_batch_gives_one_line_per_record_in_order(binary, rows):
    body = (csv_body(X[:rows]) + "\n").encode()  # batch transform lines keep their newline
    lines = ok(container_call(binary, body, "text/csv", "text/csv")).split("\n")
    assert len(lines) == rows
    expected = binary.booster.inplace_predict(X[:rows])
    np.testing.assert_allclose([float(line.split(",")[1]) for line in lines], expected, rtol=1e-6)


def test_csv_empty_fields_are_missing_values(binary):
    body = b"0.5,,1.0,\n,,,"
    predictions = json.loads(ok(container_call(binary, body, "text/csv", "application/json")))
    assert len(predictions["predictions"]) == 2


@pytest.mark.parametrize(
    "payload",
    [
        {"instances": X[:2].tolist()},
        X[:2].tolist(),
        {"instances": [{"features": row} for row in X[:2].tolist()]},
    ],
    ids=["instances", "list-of-rows", "features-objects"],
)
def test_json_request_shapes(binary, payload):
    out = json.loads(ok(container_call(binary, json.dumps(payload).encode(), None, None)))
    assert [p["predicted_label"] for p in out["predictions"]] == list(
        (binary.booster.inplace_predict(X[:2]) > 0.5).astype(int)
    )


def test_json_single_flat_row_and_null_as_missing(binary):
    row = X[0].tolist()
    row[1] = None
    out = json.loads(
        ok(container_call(binary, json.dumps(row).encode(), "application/json", "*/*"))
    )
    assert len(out["predictions"]) == 1
    assert set(out["predictions"][0]) == {"predicted_label", "probability"}


def test_jsonlines_in_and_out_as_bytes(binary):
    body = "\n".join(json.dumps(row) for row in X[:3].tolist()) + "\n"
    response = container_call(
        binary, body.encode(), "application/jsonlines", "application/jsonlines"
    )
    lines = ok(response).split("\n")
    assert response.mimetype == "application/jsonlines"
    assert [json.loads(line)["predicted_label"] for line in lines] == list(
        (binary.booster.inplace_predict(X[:3]) > 0.5).astype(int)
    )


def test_libsvm_with_and_without_label(binary):
    sparse = "1 0:0.5 3:-1.2\n2:0.7\n"
    out = ok(container_call(binary, sparse.encode(), "text/libsvm", "text/csv")).split("\n")
    dense = np.array([[0.5, np.nan, np.nan, -1.2], [np.nan, np.nan, 0.7, np.nan]], np.float32)
    expected = binary.booster.inplace_predict(dense)
    np.testing.assert_allclose([float(line.split(",")[1]) for line in out], expected, rtol=1e-6)


def test_accept_lists_and_wildcards(binary):
    body = csv_body(X[:1]).encode()
    response = container_call(binary, body, "text/csv", "application/xml, text/csv;q=0.9")
    assert response.mimetype == "text/csv"
    assert container_call(binary, body, "text/csv", "text/*").mimetype == "text/csv"
    assert container_call(binary, body, "text/csv", None).mimetype == "application/json"


def test_multiclass_gives_label_and_probabilities(multiclass, softmax):
    body = csv_body(X[:5]).encode()
    for model in (multiclass, softmax):
        out = json.loads(ok(container_call(model, body, "text/csv", "application/json")))
        for record in out["predictions"]:
            assert len(record["probabilities"]) == 3
            assert sum(record["probabilities"]) == pytest.approx(1, abs=1e-5)
            assert record["predicted_label"] == int(np.argmax(record["probabilities"]))
    csv = ok(container_call(multiclass, body, "text/csv", "text/csv")).split("\n")
    assert all(len(line.split(",")) == 4 for line in csv)
    expected = multiclass.booster.inplace_predict(X[:5]).argmax(axis=1)
    assert [int(line.split(",")[0]) for line in csv] == list(expected)


def test_softmax_labels_match_the_booster(softmax):
    out = ok(container_call(softmax, csv_body(X[:20]).encode(), "text/csv", "text/csv"))
    labels = [int(line.split(",")[0]) for line in out.split("\n")]
    assert labels == softmax.booster.inplace_predict(X[:20]).astype(int).tolist()


def test_regression_gives_the_predicted_score(regression):
    body = csv_body(X[:3]).encode()
    csv = ok(container_call(regression, body, "text/csv", "text/csv")).split("\n")
    np.testing.assert_allclose(
        [float(v) for v in csv], regression.booster.inplace_predict(X[:3]), rtol=1e-6
    )
    out = json.loads(ok(container_call(regression, body, "text/csv", "application/json")))
    assert set(out["predictions"][0]) == {"predicted_score"}


# --------------------------------------------------------------------------- client errors


def test_unsupported_content_type_is_415(binary):
    error(container_call(binary, b"<x/>", "application/xml", "text/csv"), 415, "application/xml")


def test_unsupported_accept_is_406(binary):
    body = csv_body(X[:1]).encode()
    error(container_call(binary, body, "text/csv", "application/xml"), 406, "application/xml")


@pytest.mark.parametrize(
    ("body", "content_type", "phrases"),
    [
        (b"1,2,3", "text/csv", ("Row 1 has 3 columns", "expects 4 features")),
        (b"1,2,3,4,5", "text/csv", ("has 5 columns", "is the label included?")),
        (b"1,2,3,4\n1,2,3\n", "text/csv", ("Row 2 has 3 columns",)),
        (b"1,2,abc,4", "text/csv", ("line 1, column 3 is 'abc', not a number",)),
        (b"1,2,3,4\n\n1,2,3,4", "text/csv", ("line 2 is empty",)),
        (b"   \n", "text/csv", ("body is empty",)),
        (b"\xff\xfe", "text/csv; charset=latin-1", ("not UTF-8",)),
        (b"[[1, 2, 3, 4], [1, 2]]", "application/json", ("Row 2 has 2 values",)),
        (b'{"instances": [[1, 2, "x", 4]]}', "application/json", ("position 3 is 'x'",)),
        (b'{"rows": []}', "application/json", ('{"instances": [[...], ...]}',)),
        (b"{not json", "application/json", ("not valid JSON",)),
        (b"1,2,3,4", None, ("not valid JSON", "For CSV send Content-Type: text/csv")),
        (b"[1,2,3,4]\n[1,2", "application/jsonlines", ("line 2 is not valid JSON",)),
        (b"1 0:1 9:2", "text/libsvm", ("feature index 9 is out of range",)),
        (b"1 0:x", "text/libsvm", ("'0:x' is not index:value",)),
    ],
)
def test_malformed_or_wrong_width_payload_is_400(binary, body, content_type, phrases):
    error(container_call(binary, body, content_type, "text/csv"), 400, *phrases)


@pytest.mark.parametrize("as_bytes", [False, True])
def test_body_over_6_mib_is_413(binary, as_bytes):
    row = (csv_body(X[:1]) + "\n").encode()
    body = row * (6 * 1024 * 1024 // len(row) + 1)
    assert len(body) > 6_291_456
    content_type = "text/csv; charset=utf-8" if as_bytes else "text/csv"
    error(container_call(binary, body, content_type, "text/csv"), 413, "limit is 6291456 bytes")


def test_body_just_under_the_limit_is_served(binary):
    row = (csv_body(X[:1]) + "\n").encode()
    body = row * (6 * 1024 * 1024 // len(row))
    assert len(body) <= 6_291_456
    assert ok(container_call(binary, body, "text/csv", "text/csv")).count("\n") + 1 == len(
        body.splitlines()
    )


def _decode_peak_mib(body: bytes, content_type: str, num_features: int):
    """What decode() returns or raises, and the peak memory it traced on the way (numpy's
    arrays included: numpy reports its allocations to tracemalloc)."""
    tracemalloc.start()
    try:
        outcome = decoders.decode(body, content_type, num_features)
    except decoders.RequestError as e:
        outcome = e
    finally:
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return outcome, peak


def test_a_libsvm_body_over_the_value_budget_is_413_before_any_array():
    """4-byte lines for a 200-feature model: 1 MiB of body once made a 200 MiB array."""
    body = b"0:1\n" * (1024 * 1024 // 4)
    outcome, peak_mib = _decode_peak_mib(body, "text/libsvm", 200)
    assert isinstance(outcome, decoders.RequestError) and outcome.status == 413
    assert "262144 rows of 200 features, 52428800 values" in outcome.message
    assert "limit is 6291456 values" in outcome.message and "at most 31457 rows" in outcome.message
    assert peak_mib < 8, peak_mib


def test_a_sparse_libsvm_body_within_the_value_budget_is_decoded():
    rows = decoders.MAX_VALUES // 200
    array = decoders.decode(b"1 3:0.5\n" * rows, "text/libsvm", 200)
    assert array.shape == (rows, 200) and array[-1, 3] == 0.5 and np.isnan(array[-1, 4])


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" + b"[]," * 349_524 + b"[]]", "application/json"),
        (b"[]\n" * 349_525, "application/jsonlines"),
    ],
)
def test_json_rows_of_the_wrong_width_are_400_before_the_array(body, content_type):
    """A 1 MiB body of empty rows once sized a rows x 200 array (267 MiB) before row 1 failed."""
    outcome, peak_mib = _decode_peak_mib(body, content_type, 200)
    assert isinstance(outcome, decoders.RequestError) and outcome.status == 400
    assert "Row 1 has 0 values but the model expects 200 features" in outcome.message
    assert peak_mib < 100, peak_mib


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float32,
        st.tuples(st.integers(1, 80), st.just(FEATURES)),
        elements=st.floats(-1e6, 1e6, width=32),
    )
)
def test_csv_decoding_round_trips_any_float32_matrix(matrix):
    decoded = decoders.decode_csv(csv_body(matrix) + "\n", FEATURES)
    np.testing.assert_array_equal(decoded, matrix)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(1, 30), st.sampled_from(["text/csv", "application/json", "application/jsonlines"])
)
def test_every_accept_returns_one_record_per_row(rows, accept):
    model = test_every_accept_returns_one_record_per_row.model
    text, mimetype = inference.transform_fn(model, csv_body(X[:rows]), "text/csv", accept)
    assert mimetype == accept
    if accept == "application/json":
        assert len(json.loads(text)["predictions"]) == rows
    else:
        assert len(text.split("\n")) == rows


@pytest.fixture(autouse=True)
def _attach_binary_model(request, binary):
    # hypothesis tests cannot take function-scoped fixtures; hand them the module's model.
    test_every_accept_returns_one_record_per_row.model = binary
