"""The metric regexes the training stack uses match what train.py prints: SageMaker applies a
job's MetricDefinitions regexes to its log (AWS docs, "Define training metrics")."""

from __future__ import annotations

import re

import pytest

from sagestack.contract.metrics import metric_definitions

LOCAL = "[12]\ttrain-auc:0.91234\tvalidation-auc:0.88765"
CLOUDWATCH = "[12]#011train-auc:0.91234#011validation-auc:0.88765"
DISTRIBUTED = "[10:42:01] [12]\ttrain-auc:0.91234\tvalidation-auc:0.88765"  # rank 0's prefix
BUILT_IN_REGEX = r".*\[[0-9]+\].*#011validation-auc:(\S+)"  # algorithm_mode/metrics.py


def by_name(definitions):
    return {d["Name"]: d["Regex"] for d in definitions}


@pytest.mark.parametrize("line", [LOCAL, CLOUDWATCH, DISTRIBUTED])
def test_regexes_capture_train_and_validation_values(line):
    regexes = by_name(metric_definitions(["auc"]))
    assert set(regexes) == {"train:auc", "validation:auc"}
    assert re.search(regexes["train:auc"], line).group(1) == "0.91234"
    assert re.search(regexes["validation:auc"], line).group(1) == "0.88765"


def test_built_in_regex_also_matches_because_validation_is_last():
    assert re.search(BUILT_IN_REGEX, CLOUDWATCH).group(1) == "0.88765"


def test_several_metrics_and_special_characters():
    line = "[3]\ttrain-error@0.7:1.5e-05\ttrain-logloss:0.2\tvalidation-error@0.7:0.125"
    regexes = by_name(metric_definitions("error@0.7,logloss"))
    assert re.search(regexes["train:error@0.7"], line).group(1) == "1.5e-05"
    assert re.search(regexes["validation:error@0.7"], line).group(1) == "0.125"
    assert re.search(regexes["train:logloss"], line).group(1) == "0.2"
    assert re.search(regexes["validation:logloss"], line) is None


def test_limits_are_enforced():
    assert all(len(d["Regex"]) <= 500 for d in metric_definitions(["auc", "rmse"]))
    with pytest.raises(ValueError, match="allows 40"):
        metric_definitions([f"error@0.{i}" for i in range(21)])


def test_regexes_match_a_real_training_log(binary_job, capsys):
    assert binary_job.run(["--num_round", "3", "--objective", "binary:logistic",
                           "--eval_metric", "auc,logloss"]) == 0  # fmt: skip
    log = capsys.readouterr().out
    lines = [line for line in log.splitlines() if line.startswith("[")]
    assert len(lines) == 3
    for name, regex in by_name(metric_definitions(["auc", "logloss"])).items():
        values = [float(m.group(1)) for m in map(re.compile(regex).search, lines) if m]
        assert len(values) == 3, name
