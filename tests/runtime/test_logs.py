"""Reading the training log: XGBoost eval lines and SageMaker-style metric definitions."""

from __future__ import annotations

from sagestack.local.logs import LogMonitor, num_rounds, parse_eval_line


def test_parses_an_eval_line_into_sagemaker_metric_names() -> None:
    assert parse_eval_line("[12]\ttrain-auc:0.99\tvalidation-auc:0.97\n") == (
        12,
        {"train:auc": 0.99, "validation:auc": 0.97},
    )


def test_parses_the_distributed_timestamp_prefix_and_odd_metric_names() -> None:
    assert parse_eval_line("[10:01:02] [3]\tvalidation-ndcg@5:0.5\tvalidation-error@0.7:0.1") == (
        3,
        {"validation:ndcg@5": 0.5, "validation:error@0.7": 0.1},
    )


def test_other_lines_are_not_eval_lines() -> None:
    assert parse_eval_line("[WARNING] something") is None
    assert parse_eval_line("Training took 3 s") is None


def test_metric_definitions_match_tab_rendered_as_011_like_cloudwatch() -> None:
    monitor = LogMonitor(
        [{"Name": "validation:auc", "Regex": r".*\[[0-9]+\].*#011validation-auc:(\S+)"}]
    )
    monitor.feed("[0]\ttrain-auc:0.9\tvalidation-auc:0.8\n")
    monitor.feed("[1]\ttrain-auc:0.95\tvalidation-auc:0.85\n")
    assert monitor.rounds_done == 2
    assert monitor.metrics == {"train:auc": 0.95, "validation:auc": 0.85}


def test_num_rounds_reads_either_encoding() -> None:
    assert num_rounds({"num_round": "50"}) == 50
    assert num_rounds({"num_round": '"50"'}) == 50
    assert num_rounds({"eta": "0.1"}) is None
