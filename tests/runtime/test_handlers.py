"""Transformer semantics of the script-mode container (sagemaker-containers
`_transformer.py`, which the XGBoost image serves through), without a server."""

from __future__ import annotations

import types
from pathlib import Path

import flask
import pytest

from sagestack.serving.handlers import HandlerError, Transformer, import_user_module, to_reply


def _module(**hooks) -> types.ModuleType:
    module = types.ModuleType("user_inference")
    module.model_fn = lambda model_dir: "model"
    for name, fn in hooks.items():
        setattr(module, name, fn)
    return module


def _echo(model, body, content_type, accept):
    return f"{type(body).__name__}|{content_type}|{accept}", "text/plain"


@pytest.mark.parametrize(
    ("content_type", "expected_kind"),
    [
        ("text/csv", "str"),
        ("application/json", "str"),
        ("text/csv; charset=utf-8", "bytes"),  # only the exact strings are decoded
        ("application/x-npy", "bytes"),
        (None, "str"),  # missing Content-Type means application/json
    ],
)
def test_body_is_str_only_for_exact_csv_or_json(content_type, expected_kind) -> None:
    transformer = Transformer(_module(transform_fn=_echo))
    reply = transformer(b"1,2", content_type, "text/csv")
    assert reply.body.decode().split("|")[0] == expected_kind


@pytest.mark.parametrize("accept", [None, "", "*/*"])
def test_missing_or_any_accept_means_the_default(accept) -> None:
    transformer = Transformer(_module(transform_fn=_echo), default_accept="text/csv")
    assert transformer(b"x", "text/csv", accept).body.decode().endswith("|text/csv")


def test_fails_when_transform_fn_is_combined_with_input_fn() -> None:
    with pytest.raises(HandlerError, match="cannot use transform_fn together"):
        Transformer(_module(transform_fn=_echo, input_fn=lambda b, c: b))


def test_tuple_sets_content_type_with_flask_charset_rule() -> None:
    assert to_reply(("1\n", "text/csv")).headers == (("Content-Type", "text/csv; charset=utf-8"),)
    assert to_reply(("[1]", "application/json")).headers == (("Content-Type", "application/json"),)


def test_response_object_keeps_status_body_and_headers() -> None:
    response = flask.Response("bad", status=415, mimetype="text/plain", headers={"X-A": "1"})
    reply = to_reply(response)
    assert reply.status == 415 and reply.body == b"bad"
    assert ("X-A", "1") in reply.headers
    assert reply.content_type == "text/plain; charset=utf-8"


def test_plain_str_is_text_html() -> None:
    reply = to_reply("hello")
    assert (reply.status, reply.content_type, reply.body) == (
        200,
        "text/html; charset=utf-8",
        b"hello",
    )


def test_hook_exception_is_a_500_with_its_message() -> None:
    def predict_fn(data, model):
        raise ValueError("wrong width")

    transformer = Transformer(
        _module(input_fn=lambda b, c: b, predict_fn=predict_fn, output_fn=lambda p, a: (p, a))
    )
    reply = transformer(b"1", "text/csv", "text/csv")
    assert reply.status == 500
    assert reply.body == b"ValueError: wrong width"


def test_default_hooks_fill_in_for_missing_ones() -> None:
    transformer = Transformer(
        _module(
            input_fn=lambda body, ct: [[float(v) for v in body.split(",")]],
            predict_fn=lambda data, model: [sum(data[0])],
        )
    )
    assert transformer(b"1,2", "text/csv", "text/csv").body == b"3.0\n"
    assert transformer(b"1,2", "text/csv", "application/json").body == b"[3.0]"
    assert transformer(b"1,2", "text/csv", "text/html").status == 500


def test_model_fn_is_required() -> None:
    module = types.ModuleType("no_model_fn")
    transformer = Transformer(module)
    with pytest.raises(HandlerError, match="model_fn"):
        transformer.load(Path("/tmp"))


def test_fails_on_a_missing_or_broken_module(tmp_path: Path) -> None:
    with pytest.raises(HandlerError, match="not found"):
        import_user_module(tmp_path, "inference.py")
    (tmp_path / "broken_inference.py").write_text("import not_a_module_xyz\n")
    with pytest.raises(HandlerError, match="ModuleNotFoundError"):
        import_user_module(tmp_path, "broken_inference.py")
