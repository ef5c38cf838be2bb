"""Reads a training log as SageMaker does: boosting rounds for progress, metrics by regex."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# XGBoost's EvaluationMonitor line, "[12]\ttrain-auc:0.99\tvalidation-auc:0.97"; distributed
# runs prefix it with "[hh:mm:ss] ".
_ROUND_LINE = re.compile(r"^\s*(?:\[\d{1,2}:\d{2}:\d{2}\]\s*)?\[(\d+)\]\t(.*)$")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)$")
_NUM_ROUND_KEYS = ("num_round", "num_boost_round", "n_estimators")


def parse_eval_line(line: str) -> tuple[int, dict[str, float]] | None:
    """``(round, {"validation:auc": 0.97, ...})`` for an evaluation line, else None.

    Names follow SageMaker's built-in metric names (``<data>:<metric>``).
    """
    match = _ROUND_LINE.match(line.rstrip("\r\n"))
    if not match:
        return None
    metrics: dict[str, float] = {}
    for token in match.group(2).split("\t"):
        name, sep, value = token.strip().rpartition(":")
        if not sep or "-" not in name or not _NUMBER.match(value.strip()):
            continue
        data, _, metric = name.partition("-")
        metrics[f"{data}:{metric}"] = float(value)
    return int(match.group(1)), metrics


def num_rounds(hyperparameters: Mapping[str, str]) -> int | None:
    """The planned number of boosting rounds, when the hyperparameters say."""
    for key in _NUM_ROUND_KEYS:
        raw = hyperparameters.get(key)
        if raw is None:
            continue
        try:
            return int(float(str(raw).strip('"')))
        except ValueError:
            return None
    return None


@dataclass
class LogMonitor:
    """Accumulates what SageMaker would extract from a job's log.

    ``metric_definitions`` are CreateTrainingJob ``MetricDefinitions`` (``Name``/``Regex``).
    CloudWatch renders a TAB as ``#011``, which AWS's own regexes rely on, so each line is
    matched both raw and rendered that way. The last match of each metric wins, as SageMaker's
    final metric value does.
    """

    metric_definitions: Sequence[Mapping[str, str]] = ()
    rounds_done: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    _compiled: list[tuple[str, re.Pattern[str]]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._compiled = [(d["Name"], re.compile(d["Regex"])) for d in self.metric_definitions]

    def feed(self, line: str) -> bool:
        """Take one log line; True when it was an evaluation line (progress advanced)."""
        parsed = parse_eval_line(line)
        if parsed is not None:
            round_index, values = parsed
            self.rounds_done = max(self.rounds_done, round_index + 1)
            self.metrics.update(values)
        if self._compiled:
            rendered = line.replace("\t", "#011")
            for name, pattern in self._compiled:
                found = pattern.search(line) or pattern.search(rendered)
                if found and found.groups():
                    try:
                        self.metrics[name] = float(found.group(1))
                    except ValueError:
                        continue
        return parsed is not None
