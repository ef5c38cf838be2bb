"""Hyperparameters parse the same from every launch path: legacy `python -m` (sorted, `True`),
SDK v3 `python3 script` (insertion order, `true`) and hyperparameters.json alone."""

from __future__ import annotations

import json

import hyperparams
import pytest
from job_errors import UserError

from sagestack.contract import metrics

# What sagemaker-containers (legacy, sorted, `True`) and ModelTrainer (v3, insertion order,
# `true`) put on the command line for the same hyperparameters.
LEGACY_ARGS = [
    "--colsample_bytree", "0.8", "--eta", "0.2", "--eval_metric", "auc",
    "--model-dir", "/opt/ml/model", "--n_jobs", "3", "--num_round", "50",
    "--objective", "binary:logistic", "--validate_parameters", "True",
]  # fmt: skip
V3_ARGS = [
    "--num_round", "50", "--eta", "0.2", "--objective", "binary:logistic",
    "--validate_parameters", "true", "--n_jobs", "3", "--eval_metric", "auc",
    "--colsample_bytree", "0.8", "--model-dir", "/opt/ml/model",
]  # fmt: skip


def resolve(argv, environ=None, file_values=None) -> hyperparams.TrainConfig:
    merged = hyperparams.merge_sources(argv, environ or {}, file_values or {})
    return hyperparams.resolve(merged)


def test_legacy_and_v3_command_lines_give_the_same_config():
    legacy, v3 = resolve(LEGACY_ARGS), resolve(V3_ARGS)
    assert legacy == v3
    assert legacy.num_round == 50
    assert legacy.eval_metrics == ["auc"]
    assert legacy.xgb_params == {
        "colsample_bytree": "0.8",
        "eta": "0.2",
        "objective": "binary:logistic",
        "validate_parameters": "true",  # `True` normalised for XGBoost
        "n_jobs": "3",  # parameters the script does not list pass through to xgboost
    }


def test_legacy_one_letter_keys_parse():
    # sagemaker-containers writes one-character keys as `-x`.
    assert hyperparams.parse_cli(["-x", "3", "--num_round", "1"]) == {"x": "3", "num_round": "1"}


def test_sm_hps_is_the_fallback_without_arguments():
    environ = {"SM_HPS": json.dumps({"num_round": 7, "max_depth": 3, "one_drop": True})}
    config = resolve([], environ)
    assert config.num_round == 7
    assert config.xgb_params["max_depth"] == "3"
    assert config.xgb_params["one_drop"] == "true"


def test_hyperparameters_file_accepts_v2_json_encoded_values(tmp_path):
    path = tmp_path / "hyperparameters.json"
    path.write_text(
        json.dumps(
            {
                "objective": '"multi:softprob"',
                "num_round": "20",
                "num_class": "3",
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": '"s3://b/k.tar.gz"',
            }
        )
    )
    config = resolve([], {}, hyperparams.read_hyperparameters_file(str(path)))
    assert (config.objective, config.num_round, config.num_class) == ("multi:softprob", 20, 3)
    assert not any(key.startswith("sagemaker_") for key in config.xgb_params)


def test_command_line_beats_sm_hps_which_beats_the_file():
    config = resolve(
        ["--num_round", "3"],
        {"SM_HPS": '{"num_round": 2, "eta": 0.5}'},
        {"num_round": 1, "eta": 0.1, "gamma": 1},
    )
    assert config.num_round == 3
    assert config.xgb_params["eta"] == "0.5"
    assert config.xgb_params["gamma"] == "1"


@pytest.mark.parametrize("value", ["TRUE", "True", "true", "1", "yes"])
def test_booleans_in_any_case(value):
    assert resolve(["--num_round", "1", "--csv_weights", value]).csv_weights is True


@pytest.mark.parametrize("value", ["FALSE", "False", "false", "0"])
def test_false_booleans_in_any_case(value):
    assert resolve(["--num_round", "1", "--csv_weights", value]).csv_weights is False


def test_equals_form_and_negative_values():
    config = resolve(["--num_round=4", "--seed", "-3", "--max_delta_step=0.5"])
    assert config.num_round == 4
    assert config.xgb_params["seed"] == "-3"
    assert config.xgb_params["max_delta_step"] == "0.5"


def test_default_eval_metric_is_explicit_so_regexes_are_known_up_front():
    assert resolve(["--num_round", "1"]).eval_metrics == ["rmse"]
    config = resolve(["--num_round", "1", "--objective", "multi:softmax", "--num_class", "3"])
    assert config.eval_metrics == ["mlogloss"]
    assert resolve(["--num_round", "1", "--eval_metric", "auc,error@0.7"]).eval_metrics == [
        "auc",
        "error@0.7",
    ]


def test_xgboost_params_carry_the_metric_list():
    config = resolve(["--num_round", "1", "--eval_metric", "logloss,auc"])
    assert hyperparams.xgboost_params(config)["eval_metric"] == ["logloss", "auc"]


def test_fails_on_argparse_style_errors_without_exiting():
    with pytest.raises(UserError, match="has no value"):
        hyperparams.parse_cli(["--num_round", "3", "--eta"])
    with pytest.raises(UserError, match="Unexpected command-line argument 'stray'"):
        hyperparams.parse_cli(["stray"])


def test_metric_direction_matches_xgboost():
    assert metrics.metric_direction("auc") == "Maximize"
    assert metrics.metric_direction("ndcg@5-") == "Maximize"
    assert metrics.metric_direction("rmse") == "Minimize"
    assert metrics.metric_direction("error@0.7") == "Minimize"


@pytest.mark.parametrize("value", ['["auc", "logloss"]', "['auc', 'logloss']", "auc, logloss"])
def test_eval_metric_lists_from_either_sdk(value):
    # v3 JSON-encodes list values; legacy script mode passes str(list).
    assert resolve(["--num_round", "1", "--eval_metric", value]).eval_metrics == ["auc", "logloss"]


def test_fails_on_a_misspelt_hyperparameter_with_the_closest_names():
    with pytest.raises(UserError, match=r"hyperparameter max_dept \(did you mean max_depth"):
        resolve(["--num_round", "1", "--max_dept", "3"])


def test_fails_naming_every_unknown_hyperparameter():
    with pytest.raises(UserError, match=r"Unknown hyperparameters etta .*; n_estimators:"):
        resolve(["--num_round", "1", "--etta", "0.1", "--n_estimators", "5"])


@pytest.mark.parametrize(
    "name",
    # XGBoost accepts these and hyperparams.py lists none of them: aliases, updater- and
    # objective-specific parameters, global config, and the container's documented extras.
    ["learning_rate", "top_k", "max_cached_hist_node", "huber_slope", "lambdarank_pair_method",
     "verbosity", "sketch_eps"],
)  # fmt: skip
def test_parameters_xgboost_accepts_pass_through(name):
    value = "topk" if name == "lambdarank_pair_method" else "1"
    assert resolve(["--num_round", "1", f"--{name}", value]).xgb_params[name] == value
