"""Hyperparameters -> argv for both launch paths, pinned to the argv each launcher builds:
sagemaker-containers `_mapping.to_cmd_args` (legacy `python -m`: sorted keys, `-x` for one-letter
keys, `True`, dicts as `a=1`) and SDK v3 `hyperparameters_to_cli_args` (insertion order, always
`--key`, `true`, dicts as JSON)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from sagestack.contract.hyperparameters import decode_value
from sagestack.local.hyperparameters import (
    legacy_cmd_args,
    to_hyperparameters_json,
    user_hyperparameters,
    v3_cmd_args,
)

# Hyperparameters of every kind (str, int, float, bool, dict, a one-letter key), in the order a
# user wrote them; the expected argv below is what each launcher produced from them.
EXAMPLE = {
    "num_round": 50,
    "eta": 0.2,
    "objective": "binary:logistic",
    "verbose": True,
    "x": 3,
    "tags": {"a": 1},
    "model-dir": "/opt/ml/model",
}


def test_legacy_args_match_the_contract_example() -> None:
    assert legacy_cmd_args(to_hyperparameters_json(EXAMPLE, style="v2")) == [
        "--eta", "0.2", "--model-dir", "/opt/ml/model", "--num_round", "50",
        "--objective", "binary:logistic", "--tags", "a=1", "--verbose", "True", "-x", "3",
    ]  # fmt: skip


def test_v3_args_match_the_contract_example() -> None:
    assert v3_cmd_args(to_hyperparameters_json(EXAMPLE, style="v3")) == [
        "--num_round", "50", "--eta", "0.2", "--objective", "binary:logistic",
        "--verbose", "true", "--x", "3", "--tags", '{"a": 1}', "--model-dir", "/opt/ml/model",
    ]  # fmt: skip


def test_both_styles_give_the_same_args_from_raw_values_or_their_json() -> None:
    for style in ("v2", "v3"):
        encoded = to_hyperparameters_json(EXAMPLE, style=style)
        assert legacy_cmd_args(encoded) == legacy_cmd_args(EXAMPLE)
        assert v3_cmd_args(encoded) == v3_cmd_args(EXAMPLE)


def test_sdk_encodings_differ_only_in_quoting_strings() -> None:
    assert to_hyperparameters_json({"objective": "binary:logistic", "n": 5}, style="v2") == {
        "objective": '"binary:logistic"',
        "n": "5",
    }
    assert to_hyperparameters_json({"objective": "binary:logistic", "n": 5}, style="v3") == {
        "objective": "binary:logistic",
        "n": "5",
    }


def test_legacy_drops_sagemaker_keys_v3_keeps_everything() -> None:
    hps = {"sagemaker_program": '"train.py"', "num_round": "5"}
    assert legacy_cmd_args(hps) == ["--num_round", "5"]
    assert user_hyperparameters(hps) == {"num_round": 5}
    assert v3_cmd_args(hps) == ["--sagemaker_program", "train.py", "--num_round", "5"]


def test_decode_value_keeps_non_json_strings() -> None:
    assert decode_value("binary:logistic") == "binary:logistic"
    assert decode_value("true") is True
    assert decode_value("1e-3") == 0.001


_keys = st.from_regex(r"[a-z][a-z_\-]{1,12}", fullmatch=True)
_values = st.one_of(st.integers(), st.booleans(), st.text(min_size=1, max_size=8))


@given(st.dictionaries(_keys, _values, min_size=1, max_size=8))
def test_v3_keeps_insertion_order_and_legacy_sorts(hps: dict[str, object]) -> None:
    v3 = v3_cmd_args(to_hyperparameters_json(hps))
    legacy = legacy_cmd_args(to_hyperparameters_json(hps, style="v2"))
    assert v3[::2] == [f"--{k}" for k in hps]
    assert legacy[::2] == [f"--{k}" for k in sorted(hps)]
    for key, value in hps.items():
        if isinstance(value, bool):
            assert v3[v3.index(f"--{key}") + 1] == json.dumps(value)
            assert legacy[legacy.index(f"--{key}") + 1] == str(value)
