"""The evaluation report's parts: numpy curves that agree with scikit-learn (curves.py), and the
plotting helper (plots.py), whose failures cost the plots, never the job, and the per-class
numbers of a multi-class model (report.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import plots
import pytest
import report
from curves import pr_curve, roc_curve
from scripts_support import Job
from sklearn.metrics import average_precision_score, roc_auc_score

LABELS = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
SCORES = np.array([0.1, 0.8, 0.6, 0.4, 0.9])


@pytest.mark.parametrize("seed", range(5))
def test_curves_agree_with_scikit_learn_including_tied_scores(seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500).astype(float)
    scores = np.round(rng.random(500) * 0.5 + labels * 0.3, 2)  # rounded: many ties
    assert roc_curve(labels, scores)[2] == pytest.approx(roc_auc_score(labels, scores))
    assert pr_curve(labels, scores)[2] == pytest.approx(average_precision_score(labels, scores))


def test_curves_of_a_single_class_have_no_area():
    assert np.isnan(roc_curve(np.ones(4), SCORES[:4])[2])
    assert np.isnan(pr_curve(np.zeros(4), SCORES[:4])[2])


def test_helper_draws_the_binary_plots(tmp_path):
    messages: list[str] = []
    written = plots.PlotHelper.start().draw(
        str(tmp_path), "binary:logistic", LABELS, SCORES, {"f0": 2.0, "f1": 1.0}, messages.append
    )
    assert written == ["roc_curve.png", "pr_curve.png", "feature_importance.png"]
    assert all((tmp_path / name).read_bytes()[:4] == b"\x89PNG" for name in written)
    assert messages == []


def test_a_failing_helper_loses_the_plots_and_says_so(tmp_path):
    messages: list[str] = []
    written = plots.PlotHelper.start().draw(
        str(tmp_path / "missing"), "binary:logistic", LABELS, SCORES, {}, messages.append
    )
    assert written == []
    assert messages and "The plotting helper failed (exit 1" in messages[0]


def test_an_unusable_answer_loses_the_plots_and_says_so(tmp_path):
    garbage = subprocess.Popen(  # a "helper" that reads the request and answers nonsense
        [sys.executable, "-c", "import sys; sys.stdin.buffer.read(); print('not json')"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    messages: list[str] = []
    written = plots.PlotHelper(garbage).draw(
        str(tmp_path), "binary:logistic", LABELS, SCORES, {}, messages.append
    )
    assert written == []
    assert messages[0].startswith("The plotting helper's answer was unusable (JSONDecodeError")
    assert garbage.returncode == 0


class RecordingPlotter(plots.PlotHelper):
    """What run_job does with the helper it is given."""

    def __init__(self) -> None:
        super().__init__(None, "recording")
        self.calls: list[str] = []

    def draw(self, *args, **kwargs) -> list[str]:
        self.calls.append("draw")
        return ["drawn.png"]

    def close(self) -> None:
        self.calls.append("close")


def test_run_job_hands_its_helper_to_the_report_and_stops_it(binary_job: Job):
    import train

    plotter = RecordingPlotter()
    assert train.run_job(["--num_round", "3"], binary_job.env(), plotter) == 0
    assert plotter.calls == ["draw", "close"]
    report = (binary_job.output_data_dir / "evaluation.json").read_text()
    assert '"plots": [\n    "drawn.png"\n  ]' in report


def test_main_passes_the_helper_started_at_launch(binary_job: Job, monkeypatch):
    import train

    plotter = RecordingPlotter()
    monkeypatch.setattr(train, "LAUNCH_PLOTTER", plotter)
    monkeypatch.setattr(sys, "argv", ["train.py", "--num_round", "3"])
    for key, value in binary_job.env().items():
        monkeypatch.setenv(key, value)
    exits: list[int] = []
    monkeypatch.setattr(train.os, "_exit", exits.append)  # the real one would end pytest
    train.main()
    assert exits == [0]
    assert plotter.calls == ["draw", "close"]


def test_a_failed_job_stops_its_helper_unused(job: Job):
    import train

    plotter = RecordingPlotter()
    job.write_configs({}, {"train": "text/csv"})  # no train channel data: a user error
    assert train.run_job(["--num_round", "3"], job.env(), plotter) == 1
    assert plotter.calls == ["close"]


def test_long_feature_names_are_shortened_to_fit_the_margin(tmp_path):
    name = "a_feature_name_far_longer_than_the_margin_allows_for"
    assert plots.draw(str(tmp_path), "reg:squarederror", LABELS, SCORES, {name: 1.0})
    assert plots._shortened(name) == name[:31] + "…"
    assert plots._shortened("f0") == "f0"


def test_an_unused_helper_is_stopped():
    helper = plots.PlotHelper.start()
    process = helper._process
    assert process is not None
    helper.close()
    assert process.returncode is not None  # reaped, not left running


def test_without_matplotlib_no_helper_starts_and_the_log_says_why(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    helper = plots.PlotHelper.start()
    messages: list[str] = []
    assert helper.draw(str(tmp_path), "reg:squarederror", LABELS, SCORES, {}, messages.append) == []
    assert messages == ["matplotlib is not installed here; skipping the PNG plots"]


def test_a_helper_that_cannot_start_leaves_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    helper = plots.PlotHelper.start()
    messages: list[str] = []
    assert helper.draw(str(tmp_path), "binary:logistic", LABELS, SCORES, {}, messages.append) == []
    assert messages[0].startswith("the plotting helper could not start ([Errno 2]")


def test_multi_class_confusion_matrix_and_per_class_precision_recall():
    labels = np.array([0, 0, 1, 1, 2, 2], dtype=np.float32)
    softprob = np.eye(3)[[0, 1, 1, 1, 2, 0]]  # one 0 taken for a 1, one 2 taken for a 0
    found = report.class_metrics("multi:softprob", labels, softprob)
    assert found["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert found["per_class"][1] == {"class": 1, "precision": 2 / 3, "recall": 1.0, "support": 2}
    assert found == report.class_metrics("multi:softmax", labels, np.array([0, 1, 1, 1, 2, 0]))
    assert report.class_metrics("binary:logistic", labels, softprob[:, 0]) == {}


@pytest.mark.parametrize("objective", ["reg:squarederror", "multi:softprob", "rank:ndcg"])
def test_other_objectives_draw_what_applies(tmp_path, objective: str):
    predictions = np.tile(SCORES, (3, 1)).T if objective == "multi:softprob" else SCORES
    written = plots.draw(str(tmp_path), objective, LABELS, predictions, {"f0": 1.0})
    expected = ["residuals.png"] if objective == "reg:squarederror" else []
    assert written == [*expected, "feature_importance.png"]
