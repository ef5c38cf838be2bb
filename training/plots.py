"""The evaluation report's PNG plots, drawn by a helper process that the job starts at launch.

Importing matplotlib and drawing three figures take about half a second: as long as a small
job's whole training. train.py starts this helper before it imports xgboost, so matplotlib is
imported on the other core while the job imports xgboost and loads its data; at the end the
job sends the numbers and waits for the file names. A job that fails, or a host that is not
rank 0, stops the helper unused.

Run as a script, this file is the helper; imported, `PlotHelper` is the job's handle on it.
Module-level imports are the standard library only, so starting the helper costs the job
nothing before its own imports; numpy is imported where it is used.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

MAX_SCATTER_POINTS = 5_000
TOP_FEATURES = 20
MAX_LABEL_CHARS = 32
ANSWER_TIMEOUT_S = 120  # plots of a 50,000-row sample take about a second


def matplotlib_missing() -> bool:
    """True when matplotlib cannot be imported (some containers; tests block it in sys.modules)."""
    if "matplotlib" in sys.modules:
        return sys.modules["matplotlib"] is None
    return importlib.util.find_spec("matplotlib") is None


class PlotHelper:
    """A running helper process, or the reason there is none."""

    def __init__(self, process: subprocess.Popen[bytes] | None, skip_reason: str = ""):
        self._process = process
        self._skip_reason = skip_reason

    @classmethod
    def start(cls) -> PlotHelper:
        if matplotlib_missing():
            return cls(None, "matplotlib is not installed here")
        try:
            process = subprocess.Popen(  # stderr is the job's, so a helper traceback is logged
                [sys.executable, os.path.abspath(__file__)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError as e:  # runs before train.py can write a failure file: never raise
            return cls(None, f"the plotting helper could not start ({e})")
        return cls(process)

    def draw(
        self,
        directory: str,
        objective: str,
        labels: Any,
        predictions: Any,
        importance: Mapping[str, float],
        log: Callable[[str], None],
    ) -> list[str]:
        """Have the helper write the plots into `directory`; the names written, [] on failure."""
        import numpy as np

        process, self._process = self._process, None
        if process is None:
            log(f"{self._skip_reason or 'no plotting helper'}; skipping the PNG plots")
            return []
        try:
            request = io.BytesIO()
            np.savez(
                request,
                directory=np.array(directory),
                objective=np.array(objective),
                labels=np.asarray(labels),
                predictions=np.asarray(predictions),
                feature_names=np.array(list(importance), dtype=str),
                gains=np.array(list(importance.values()), dtype=np.float64),
            )
            answer, _ = process.communicate(request.getvalue(), timeout=ANSWER_TIMEOUT_S)
            if process.returncode != 0:
                log(f"The plotting helper failed (exit {process.returncode}, see above); no plots")
                return []
            written = json.loads(answer)["written"]
            if not isinstance(written, list):
                raise ValueError(f"expected a list of file names, got {answer[:200]!r}")
            return [str(name) for name in written]
        except subprocess.TimeoutExpired:
            log(f"The plotting helper did not answer in {ANSWER_TIMEOUT_S} s; no plots")
        except Exception as e:  # noqa: BLE001 - the plots are extras: never lose the report
            log(f"The plotting helper's answer was unusable ({type(e).__name__}: {e}); no plots")
        finally:
            if process.poll() is None:
                _stop(process)
        return []

    def close(self) -> None:
        """Stop a helper that was never asked to draw (a failed job, a host other than rank 0)."""
        process, self._process = self._process, None
        if process is not None:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.communicate()


def draw(
    directory: str,
    objective: str,
    labels: Any,
    predictions: Any,
    importance: Mapping[str, float],
) -> list[str]:
    """Write the plots for this objective; returns the file names."""
    import numpy as np
    from curves import pr_curve, roc_curve
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # no pyplot state, no GUI probing
    from matplotlib.figure import Figure

    written = []

    def figure(width: float, height: float, columns: int = 1, left: float = 0.8):
        """Margins in inches, set once: tight_layout would cost an extra draw per figure."""
        fig = Figure(figsize=(width, height), dpi=100)
        FigureCanvasAgg(fig)
        fig.subplots_adjust(
            left=left / width,
            right=1 - 0.25 / width,
            bottom=0.6 / height,
            top=1 - 0.4 / height,
            wspace=0.25,
        )
        return fig, fig.subplots(1, columns)

    def save(fig, name: str) -> None:
        fig.savefig(os.path.join(directory, name))
        written.append(name)

    if objective in ("binary:logistic", "binary:logitraw"):
        scores = predictions if objective == "binary:logistic" else 1 / (1 + np.exp(-predictions))
        fpr, tpr, auc = roc_curve(labels, scores)
        fig, ax = figure(5, 5)
        ax.plot(fpr, tpr, label=f"AUC = {auc:.4f}")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
        ax.set(xlabel="False positive rate", ylabel="True positive rate", title="ROC curve")
        ax.legend(loc="lower right")
        save(fig, "roc_curve.png")
        recall, precision, ap = pr_curve(labels, scores)
        fig, ax = figure(5, 5)
        ax.step(recall, precision, where="post", label=f"AP = {ap:.4f}")
        ax.set(xlabel="Recall", ylabel="Precision", title="Precision-recall curve", ylim=(0, 1.02))
        ax.legend(loc="lower left")
        save(fig, "pr_curve.png")
    elif not objective.startswith(("multi:", "binary:", "rank:")) and predictions.ndim == 1:
        residuals = labels - predictions
        pick = np.arange(residuals.size)
        if residuals.size > MAX_SCATTER_POINTS:
            pick = np.random.default_rng(0).choice(
                residuals.size, MAX_SCATTER_POINTS, replace=False
            )
        fig, (left, right) = figure(10, 4, 2)
        left.scatter(predictions[pick], residuals[pick], s=4, alpha=0.5)
        left.axhline(0, color="grey", linestyle="--")
        left.set(xlabel="Predicted", ylabel="Residual (label - predicted)", title="Residuals")
        right.hist(residuals, bins=50)
        right.set(xlabel="Residual", ylabel="Rows", title="Residual distribution")
        save(fig, "residuals.png")
    if importance:
        top = sorted(importance.items(), key=lambda kv: kv[1], reverse=True)[:TOP_FEATURES]
        names = [_shortened(name) for name, _ in reversed(top)]
        longest_name = max(len(name) for name in names)
        fig, ax = figure(6, 0.3 * len(top) + 1.2, left=0.3 + 0.08 * longest_name)
        ax.barh(names, [v for _, v in reversed(top)])
        ax.set(xlabel="Total gain", title="Feature importance (gain)")
        save(fig, "feature_importance.png")
    return written


def _shortened(name: str) -> str:
    """Feature names as bar labels fit the fixed left margin (about 3 inches at most)."""
    return name if len(name) <= MAX_LABEL_CHARS else name[: MAX_LABEL_CHARS - 1] + "…"


def main() -> int:
    """The helper: import matplotlib at once, then draw the one request that stdin brings."""
    # At the job's own priority: a lower one (nice 5-19) measured slower, since the import then
    # waits out the training and the drawing starts later.
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import numpy as np

    body = sys.stdin.buffer.read()
    if not body:
        return 0  # the job closed stdin without asking: nothing to draw
    with np.load(io.BytesIO(body)) as request:
        importance = dict(
            zip(request["feature_names"].tolist(), request["gains"].tolist(), strict=True)
        )
        written = draw(
            str(request["directory"]),
            str(request["objective"]),
            request["labels"],
            request["predictions"],
            importance,
        )
    sys.stdout.write(json.dumps({"written": written}))
    return 0


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    # The job waits for this process to end; matplotlib's teardown would add about 0.1 s.
    os._exit(exit_code)
