"""Property-based fuzzing of inference.py's handlers, in-process and called as the container
calls them: client mistakes end as a 4xx Response, never as an exception (which the container
turns into a 500), and valid rows always get one prediction each."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ, MAX_PAYLOAD_BYTES, NUM_FEATURES, CaseCounter
from .strategies import client_requests, format_rows, valid_rows

pytestmark = pytest.mark.slow  # fuzzing: hundreds of generated inputs

# sagemaker-containers (`_worker.Request.content`) hands the hook a str for exactly these
# Content-Types, bytes otherwise; a missing header is JSON, a missing or */* Accept the default.
_TEXT_TYPES = ("text/csv", "application/json")
_DEFAULT_ACCEPT = "application/json"
_SUPPORTED_ACCEPTS = {"text/csv", "application/json", "application/jsonlines"}


def call_like_the_container(model: Any, body: bytes, content_type: str | None, accept: str | None):
    import inference

    ctype = content_type or "application/json"
    if not accept or accept == "*/*":
        accept = _DEFAULT_ACCEPT
    content = body.decode("utf-8", "replace") if ctype in _TEXT_TYPES else body
    return inference.transform_fn(model, content, ctype, accept)


def _strict_json(text: str) -> Any:
    def reject(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=reject)


def check_client_outcome(result: Any, body: bytes) -> str:
    """A (body, mimetype) success with a parseable body, or a 4xx with a message."""
    if isinstance(result, tuple):
        text, mimetype = result
        assert mimetype in _SUPPORTED_ACCEPTS, mimetype
        assert isinstance(text, str) and text
        if mimetype == "application/json":
            assert "predictions" in _strict_json(text)
        elif mimetype == "application/jsonlines":
            for line in text.split("\n"):
                _strict_json(line)
        return "2xx"
    status = result.status_code
    assert 400 <= status < 500, f"status {status} for body {body[:200]!r}"
    assert result.get_data(as_text=True).strip(), "a 4xx needs a message saying what was wrong"
    if len(body) > MAX_PAYLOAD_BYTES:
        assert status in (413, 415, 406), status  # too large, unless rejected for its type
    return str(status)


@pytest.fixture(scope="module")
def models(model_dirs: dict[str, Path]) -> dict[str, Any]:
    import inference

    return {kind: inference.model_fn(str(path)) for kind, path in model_dirs.items()}


def test_client_input_never_raises_in_the_handlers(
    models: dict[str, Any], case_counter: CaseCounter
) -> None:
    outcomes: dict[str, int] = {}

    @FUZZ
    @given(kind=st.sampled_from(sorted(models)), request=client_requests())
    def prop(kind: str, request: tuple[bytes, str | None, str | None]) -> None:
        body, content_type, accept = request
        try:
            result = call_like_the_container(models[kind], body, content_type, accept)
        except Exception as error:  # the container's 500
            raise AssertionError(
                f"{type(error).__name__} (a 500 in the container) for Content-Type "
                f"{content_type!r}, body {body[:120]!r}... ({len(body)} bytes)"
            ) from error
        outcome = check_client_outcome(result, body)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    try:
        prop()
    finally:  # counted whether or not a case failed
        case_counter.record(
            "handlers: random client input", sum(outcomes.values()), outcomes=outcomes
        )
    assert sum(outcomes.values()) >= 100


def test_valid_rows_get_one_prediction_each_in_every_format(
    models: dict[str, Any], case_counter: CaseCounter
) -> None:
    cases = 0

    @FUZZ
    @given(
        kind=st.sampled_from(sorted(models)),
        fmt=st.sampled_from(
            ["text/csv", "application/json", "application/jsonlines", "text/libsvm"]
        ),
        accept=st.sampled_from(sorted(_SUPPORTED_ACCEPTS)),
        rows=st.integers(1, 80).flatmap(valid_rows),
    )
    def prop(kind: str, fmt: str, accept: str, rows: list[list[float]]) -> None:
        nonlocal cases
        model = models[kind]
        body = format_rows(rows, fmt).encode()
        result = call_like_the_container(model, body, fmt, accept)
        assert isinstance(result, tuple), result.get_data(as_text=True)
        text, mimetype = result
        assert mimetype == accept
        if accept == "application/json":
            records = _strict_json(text)["predictions"]
        else:
            records = text.split("\n")
        assert len(records) == len(rows)
        if accept == "application/json" and model.kind == "regression":
            expected = model.booster.inplace_predict(np.asarray(rows, dtype=np.float32))
            got = [r["predicted_score"] for r in records]
            assert all(
                math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)
                for a, b in zip(got, expected, strict=True)
            )
        cases += 1

    prop()
    case_counter.record("handlers: valid rows, every format", cases)
    assert models["binary"].num_features == NUM_FEATURES


# Inputs the fuzzing above found (reduced by hand); pinned so the fixes stay fixed.
@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param("[" * 100_000 + "]" * 100_000, "application/json", id="json-recursionerror"),
        pytest.param("[" * 100_000, "application/jsonlines", id="jsonlines-recursionerror"),
        pytest.param(
            "[[" + "9" * 400 + ",1,2,3]]", "application/json", id="json-int-beyond-float-overflow"
        ),
        pytest.param(
            "[" + "9" * 5000 + ",1,2,3]", "application/json", id="json-int-over-4300-digits"
        ),
        pytest.param(
            "[" + "9" * 5000 + ",1,2,3]",
            "application/jsonlines",
            id="jsonlines-int-over-4300-digits",
        ),
    ],
)
def test_fails_with_400_not_500_on_json_that_breaks_the_parser(
    models: dict[str, Any], body: str, content_type: str
) -> None:
    result = call_like_the_container(models["binary"], body.encode(), content_type, None)
    assert not isinstance(result, tuple)
    assert result.status_code == 400
