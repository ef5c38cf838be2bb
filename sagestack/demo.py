"""The end-to-end demo (`make demo`): train, serve and invoke the bundled model locally."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from sagestack import paths
from sagestack.local.job_spec import TrainingJobSpec
from sagestack.local.training import TrainingJobError, TrainingJobResult, run_training_job
from sagestack.serving.client import InvokeResult, invoke_http, invoke_runtime, runtime_client
from sagestack.serving.endpoint import start_local_endpoint
from sagestack.serving.supervisor import StartupError

SPLIT_SEED = 42
VALIDATION_FRACTION = 0.25
SHOWN_ROWS = 8
HYPERPARAMETERS: dict[str, Any] = {
    "objective": "binary:logistic",
    "eval_metric": "auc",
    "num_round": 300,
    "early_stopping_rounds": 20,
    "max_depth": 3,
    "eta": 0.1,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "min_child_weight": 1,
    "seed": SPLIT_SEED,
}

console = Console()


def write_dataset(data_dir: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """scikit-learn's breast cancer data as train/validation CSV: label first, no header.

    The data set ships inside scikit-learn, so the demo needs no download. Returns the two
    channel dirs and the validation features and labels (for checking the endpoint).
    """
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    features, labels = load_breast_cancer(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(
        features,
        labels,
        test_size=VALIDATION_FRACTION,
        random_state=SPLIT_SEED,
        stratify=labels,
    )
    train_dir, val_dir = data_dir / "train", data_dir / "validation"
    for directory, x, y in ((train_dir, x_train, y_train), (val_dir, x_val, y_val)):
        directory.mkdir(parents=True, exist_ok=True)
        np.savetxt(
            directory / f"{directory.name}.csv",
            np.column_stack([y, x]),
            delimiter=",",
            fmt="%.10g",
        )
    console.print(
        f"Data: breast cancer, {len(y_train)} train / {len(y_val)} validation rows, "
        f"{features.shape[1]} features -> {data_dir}"
    )
    return train_dir, val_dir, x_val, y_val


def csv_payload(rows: np.ndarray) -> bytes:
    """Feature rows as the endpoint expects them: CSV without the label column."""
    return "\n".join(",".join(f"{v:.10g}" for v in row) for row in rows).encode()


def scores(result: InvokeResult) -> list[float]:
    """Positive-class probabilities from a text/csv or application/json response."""
    if not result.ok:
        raise RuntimeError(f"HTTP {result.status}: {result.body.decode('utf-8', 'replace')}")
    ctype = (result.content_type or "").split(";")[0].strip()
    text = result.body.decode("utf-8")
    if ctype == "application/json":
        payload = json.loads(text)
        items = payload.get("predictions", payload) if isinstance(payload, dict) else payload
        return [_score(item) for item in items]
    return [float(line.split(",")[-1]) for line in text.strip().splitlines()]


def _score(item: Any) -> float:
    if isinstance(item, dict):
        for key in ("probability", "score", "predicted_score"):
            if key in item:
                return _score(item[key])
        raise ValueError(f"no score in {item}")
    if isinstance(item, list):
        return float(item[-1])
    return float(item)


def train(train_dir: Path, val_dir: Path) -> TrainingJobResult:
    console.rule("[bold]1. Train locally (SageMaker script mode, launch path v3)")
    spec = TrainingJobSpec(
        inputs={"train": train_dir, "validation": val_dir},
        hyperparameters=HYPERPARAMETERS,
        content_type="text/csv",
    )
    return run_training_job(spec, console=console)


def show_training(result: TrainingJobResult) -> None:
    table = Table(title="Training result", show_header=False)
    table.add_row("job", result.job_name)
    table.add_row("status", f"{result.status} in {result.duration_s:.1f} s")
    output_data = result.job_dir / "output" / "data"
    evaluation = _read_json(output_data / "evaluation.json")
    quality = {k: v for k, v in evaluation.get("quality", {}).items() if isinstance(v, int | float)}
    if quality:
        # The saved model stops at the best iteration (early stopping), so its scores are the
        # ones to show; the log's last-round values (up to early_stopping_rounds later) are not.
        best = evaluation.get("best_iteration")
        saved = "saved model" if best is None else f"saved model (best iteration {best})"
        for name, value in quality.items():
            table.add_row(f"{saved}: validation {name}", f"{value:.5f}")
    else:
        for name, value in sorted(result.metrics.items()):
            table.add_row(f"last round: {name}", f"{value:.5f}")
    reports = sorted(p.name for p in output_data.glob("*"))
    if reports:
        table.add_row("reports", ", ".join(reports))
    console.print(table)
    # Outside the table, so a narrow terminal does not cut the path the next step needs.
    console.print(f"model: {result.model_artifacts}", soft_wrap=True, highlight=False)


def _read_json(path: Path) -> dict[str, Any]:
    """The training script's evaluation report, if it wrote one (its format is its own)."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def serve_and_invoke(
    result: TrainingJobResult, x_val: np.ndarray, y_val: np.ndarray, log_path: Path
) -> None:
    from sklearn.metrics import accuracy_score, roc_auc_score

    console.rule("[bold]2. Serve locally and invoke")
    assert result.model_artifacts is not None
    serve_started = time.monotonic()
    with (
        log_path.open("wb") as log,
        start_local_endpoint(
            result.model_artifacts, port=0, workers=2, code_dir=paths.inference_dir(), log=log
        ) as endpoint,
    ):
        console.print(
            f"Endpoint up at {endpoint.url} in {time.monotonic() - serve_started:.1f} s "
            f"(2 workers; log: {log_path})"
        )
        shown = x_val[:SHOWN_ROWS]
        client = runtime_client(endpoint.url)
        via_boto3 = scores(
            invoke_runtime(
                client,
                "sagestack-demo",
                csv_payload(shown),
                content_type="text/csv",
                accept="text/csv",
            )
        )
        via_http = scores(
            invoke_http(
                endpoint.url,
                csv_payload(shown),
                content_type="text/csv",
                accept="application/json",
            )
        )
        table = Table(title=f"First {SHOWN_ROWS} validation rows")
        for column in ("row", "truth", "P(benign) boto3", "P(benign) HTTP", "predicted", "ok"):
            table.add_column(column, justify="right")
        for i, (truth, p_boto, p_http) in enumerate(
            zip(y_val[:SHOWN_ROWS], via_boto3, via_http, strict=True)
        ):
            predicted = int(p_boto >= 0.5)
            table.add_row(
                str(i),
                str(int(truth)),
                f"{p_boto:.4f}",
                f"{p_http:.4f}",
                str(predicted),
                "[green]yes[/green]" if predicted == truth else "[red]no[/red]",
            )
        console.print(table)
        if not np.allclose(via_boto3, via_http, atol=1e-6):
            raise RuntimeError("boto3 and plain HTTP returned different predictions")
        everything = scores(
            invoke_http(
                endpoint.url, csv_payload(x_val), content_type="text/csv", accept="text/csv"
            )
        )
        auc = roc_auc_score(y_val, everything)
        accuracy = accuracy_score(y_val, [int(p >= 0.5) for p in everything])
        console.print(
            f"Served model on all {len(y_val)} validation rows: AUC {auc:.4f}, "
            f"accuracy {accuracy:.4f}"
        )
    console.print("Endpoint stopped.")


def main() -> int:
    started = time.monotonic()
    for needed in (paths.training_dir() / "train.py", paths.inference_dir() / "inference.py"):
        if not needed.is_file():
            console.print(f"[red]{needed} is missing; the demo needs the bundled scripts.[/red]")
            return 1
    demo_dir = paths.default_state_dir() / "demo"
    train_dir, val_dir, x_val, y_val = write_dataset(demo_dir / "data")
    try:
        result = train(train_dir, val_dir)
    except TrainingJobError as exc:
        console.print(f"[red bold]Training failed:[/red bold] {exc.result.failure_reason}")
        return 1
    show_training(result)
    try:
        serve_and_invoke(result, x_val, y_val, demo_dir / "server.log")
    except StartupError as exc:
        console.print(f"[red bold]Endpoint failed to start:[/red bold] {exc}")
        return 1
    console.rule(f"[bold green]Demo finished in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
