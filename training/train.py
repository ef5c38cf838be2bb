"""SageMaker script-mode entry point: train XGBoost on the train/validation channels.

Runs unchanged under `python -m train` (legacy script mode: sagemaker-containers'
`_modules.run_module`, cwd /opt/ml/code), `python3 train.py` (SDK v3 ModelTrainer: sagemaker-train's
`basic_script_driver.py`, cwd /opt/ml/input/data/code) and a plain launch that only leaves
/opt/ml/input/config/*.json behind. Every path comes from SM_* variables (job_env.py), bad input
ends as one line in the failure file plus a non-zero exit, and the model is saved as
`xgboost-model` (UBJSON) alone at the top of the model directory.
"""

from __future__ import annotations

import sys

import plots

if __name__ == "__main__":
    # xgboost imports scikit-learn (1-2.5 s, ~60 MB) only for its sklearn wrappers, which this
    # script never uses; xgboost.compat falls back to stubs when the import fails. Only when run
    # as a script, so importing this module (tests, notebooks) leaves sklearn alone.
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
    # Before the imports below, so the report's matplotlib loads on another core meanwhile.
    LAUNCH_PLOTTER: plots.PlotHelper | None = plots.PlotHelper.start()
else:
    LAUNCH_PLOTTER = None  # imported (tests, notebooks): write_report starts one when needed

import contextlib
import os
import shutil
import time
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

import checkpointing
import cluster
import data_loading
import hyperparams
import job_env
import label_checks
import numpy as np
import report
import sm_constants as c
import text_files
import xgboost as xgb
from job_errors import UserError

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2


def log(message: str) -> None:
    print(message, flush=True)


def one_line(message: str, limit: int = c.FAILURE_REASON_MAX_CHARS) -> str:
    """FailureReason keeps 1024 characters and shows them on one line in the console."""
    text = " ".join(message.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def write_failure(path: str, message: str) -> str:
    """Write the reason before exiting; SDK v3's driver keeps it (it never overwrites the file).
    Legacy script mode replaces it with a generic text, so it is printed to stderr as well."""
    text = one_line(message)
    print(f"ERROR: {text}", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text


class EvaluationLog(xgb.callback.EvaluationMonitor):
    """Prints `[i]\ttrain-m:v\tvalidation-m:v` on rank 0, with absolute round numbers.

    xgboost.train() numbers rounds from 0 on every call, so after a resume from a checkpoint the
    log would restart at [0]; the offset makes it continue where the interrupted job stopped.
    """

    def __init__(self, offset: int):
        super().__init__(rank=0, period=1)
        self.offset = offset

    def after_iteration(self, model, epoch: int, evals_log) -> bool:  # type: ignore[override]
        return super().after_iteration(model, epoch + self.offset, evals_log)


def log_first_rows(data: data_loading.ChannelData, rows: int = 3, width: int = 120) -> None:
    """The first lines of a text channel as written, so a log reader can see which column is
    the label (a label in the wrong column trains without any error)."""
    if data.fmt == c.PARQUET or not data.files:
        return
    with open(data.files[0], encoding="utf-8", errors="replace") as f:
        lines = [line.rstrip("\r\n") for line, _ in zip(f, range(rows), strict=False)]
    shown = [line if len(line) <= width else line[:width] + "..." for line in lines]
    log(f"First rows of {data.name} (the label is the first value):")
    for line in shown:
        log(f"  {line}")


def _load(env: job_env.JobEnv, config: hyperparams.TrainConfig):
    """Both channels, validated, each with the DMatrix built inside any collective context."""
    if c.TRAIN_CHANNEL not in env.channels:
        raise UserError(
            f"Missing required channel {c.TRAIN_CHANNEL!r}: give the job an input channel named "
            f"train (no SM_CHANNEL_TRAIN and no {c.DEFAULT_INPUT_DIR}/data/train)"
        )
    if config.early_stopping_rounds and c.VALIDATION_CHANNEL not in env.channels:
        raise UserError(
            "early_stopping_rounds needs a validation channel to watch; add one or drop "
            "early_stopping_rounds"
        )
    loaded = {}
    for name in (c.TRAIN_CHANNEL, c.VALIDATION_CHANNEL):
        if name not in env.channels:
            continue
        fmt = data_loading.channel_format(env.input_data_config, name)
        started = time.perf_counter()
        data = data_loading.load_channel(name, env.channels[name], fmt, config.csv_weights)
        label_checks.check_labels(data, config.objective, config.num_class)
        log(
            f"Loaded {name}: {data.num_rows} rows x {data.num_features} features from "
            f"{len(data.files)} {fmt} file(s) in {time.perf_counter() - started:.2f} s"
        )
        loaded[name] = data
    warning = label_checks.regression_label_warning(loaded[c.TRAIN_CHANNEL], config.objective)
    if warning:
        log(warning)
    log_first_rows(loaded[c.TRAIN_CHANNEL])
    train, validation = loaded[c.TRAIN_CHANNEL], loaded.get(c.VALIDATION_CHANNEL)
    if validation is not None and validation.num_features > train.num_features:
        raise UserError(
            f"The validation channel has {validation.num_features} features but train has "
            f"{train.num_features}; both need the same columns"
        )
    return train, validation


def _resume_point(env: job_env.JobEnv, rank: int) -> tuple[xgb.Booster | None, int]:
    """Newest checkpoint, chosen by rank 0 and broadcast so every worker resumes identically."""
    found = checkpointing.load_latest(env.checkpoint_dir) if rank == 0 else None
    if env.is_distributed:
        from xgboost import collective

        found = collective.broadcast({"checkpoint": found}, 0)["checkpoint"]  # root: no None
    if found is None:
        return None, 0
    raw, rounds = found
    booster = xgb.Booster()
    booster.load_model(bytearray(raw))
    return booster, rounds


def bundle_serving_code(model_dir: str) -> list[str]:
    """Copy the inference code shipped next to this script into <model dir>/code/, so the
    model.tar.gz serves itself on a network-isolated endpoint; the names copied.

    The Training stack ships it (inference/ in the code archive). Without it (the local
    runtime's XGBoostModel) nothing is copied, and deploy() adds code/ when it repacks.
    """
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), c.SERVING_CODE_DIR)
    if not os.path.isdir(source):
        return []
    target = os.path.join(model_dir, c.MODEL_CODE_DIR)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
    return sorted(os.listdir(target))


def _final_metrics(evals_result, offset: int, at: int) -> dict[str, dict[str, float]]:
    index = at - offset
    return {
        channel: {m: float(v[index]) for m, v in history.items() if 0 <= index < len(v)}
        for channel, history in evals_result.items()
    }


def fit(
    env: job_env.JobEnv, config: hyperparams.TrainConfig, plotter: plots.PlotHelper | None = None
) -> dict[str, Any]:
    """Load, train (resuming from a checkpoint), cut to the best iteration, save on the master."""
    distributed = env.is_distributed
    context = (
        cluster.collective_context(
            env.hosts, env.current_host, env.tracker_port, env.collective_timeout_s
        )
        if distributed
        else contextlib.nullcontext(0)
    )
    with context as rank:
        train, validation = _load(env, config)
        evals = [(train.dmatrix, "train")]
        if validation is not None:
            evals.append((validation.dmatrix, "validation"))  # last: early stopping watches it

        start_booster, done = _resume_point(env, rank)
        remaining = config.num_round - done
        if start_booster is not None:
            log(f"Resuming from checkpoint after {done} rounds; {max(remaining, 0)} to go")
        callbacks: list[xgb.callback.TrainingCallback] = [EvaluationLog(done)]
        if env.checkpoint_dir and rank == 0:
            callbacks.append(checkpointing.SaveCheckpoint(env.checkpoint_dir))
        evals_result: dict[str, dict[str, list[float]]] = {}
        params = hyperparams.xgboost_params(config)
        if remaining > 0:
            started = time.perf_counter()
            booster = xgb.train(
                params,
                train.dmatrix,
                num_boost_round=remaining,
                evals=evals,
                evals_result=evals_result,
                early_stopping_rounds=config.early_stopping_rounds,
                verbose_eval=False,  # EvaluationLog prints instead
                xgb_model=start_booster,
                callbacks=callbacks,
            )
            trained = booster.num_boosted_rounds() - done  # fewer than asked if it stopped early
            log(f"Trained {trained} rounds in {time.perf_counter() - started:.2f} s")
        else:
            assert start_booster is not None
            booster = start_booster

        best_iteration = None
        if config.early_stopping_rounds and "best_iteration" in booster.attributes():
            best_iteration = int(booster.attributes()["best_iteration"] or 0)
            if best_iteration + 1 < booster.num_boosted_rounds():
                log(f"Early stopping: keeping rounds 0..{best_iteration} (best iteration)")
                booster = booster[: best_iteration + 1]

        rows = {"train": train.num_rows}
        if validation is not None:
            rows["validation"] = validation.num_rows
        if distributed:
            from xgboost import collective

            totals = collective.allreduce(
                np.array(list(rows.values()), dtype=np.float64), collective.Op.SUM
            )
            rows = {k: int(v) for k, v in zip(rows, totals, strict=True)}

        summary: dict[str, Any] = {"rank": rank, "rows": rows, "saved": False}
        sample = eval_data = None
        if rank == 0:
            os.makedirs(env.model_dir, exist_ok=True)
            # UBJSON, what save_model() writes without an extension in 3.x; 1.7-3.2 all load it.
            with open(os.path.join(env.model_dir, c.MODEL_FILE), "wb") as f:
                f.write(booster.save_raw("ubj"))
            summary["saved"] = True
            log(f"Saved {os.path.join(env.model_dir, c.MODEL_FILE)}")
            bundled = bundle_serving_code(env.model_dir)
            if bundled:
                log(f"Bundled the inference code into {c.MODEL_CODE_DIR}/: {', '.join(bundled)}")
            eval_name, eval_data = (
                ("validation", validation) if validation is not None else ("train", train)
            )
            sample = (eval_name, *report.evaluation_sample(booster, eval_data.dmatrix))
        del train, validation, evals, eval_data  # free the DMatrix memory before plotting

    if sample is not None:
        at = best_iteration if best_iteration is not None else booster.num_boosted_rounds() - 1
        started = time.perf_counter()
        try:
            summary["report"] = report.write_report(
                env.output_data_dir,
                booster=booster,
                objective=config.objective,
                eval_metrics=config.eval_metrics,
                num_round=config.num_round,
                best_iteration=best_iteration,
                rows=rows,
                eval_name=sample[0],
                labels=sample[1],
                predictions=sample[2],
                final_metrics=_final_metrics(evals_result, done, at),
                plotter=plotter,
                log=log,
            )
            log(
                f"Wrote the evaluation report to {env.output_data_dir} in "
                f"{time.perf_counter() - started:.2f} s"
            )
        except Exception as e:  # noqa: BLE001 - the model is saved; a report bug must not fail it
            traceback.print_exc()
            log(f"Could not write the evaluation report: {type(e).__name__}: {e}")
    return summary


def run_job(
    argv: Sequence[str], environ: Mapping[str, str], plotter: plots.PlotHelper | None = None
) -> int:
    """The whole job as a function: returns the exit code, writes the failure file on error."""
    failure = job_env.failure_path(environ)
    try:
        env = job_env.from_environ(environ)
        values = hyperparams.merge_sources(
            argv, environ, hyperparams.read_hyperparameters_file(env.hyperparameters_file)
        )
        config = hyperparams.resolve(values)
        log(
            f"Host {env.current_host} of {sorted(env.hosts)}; channels "
            f"{ {k: v for k, v in sorted(env.channels.items())} }; {'; '.join(env.notes)}"
        )
        log(
            f"num_round={config.num_round} objective={config.objective} "
            f"eval_metric={','.join(config.eval_metrics) or '(xgboost default)'} "
            f"early_stopping_rounds={config.early_stopping_rounds} params={config.xgb_params}"
        )
        fit(env, config, plotter)
    except UserError as e:
        write_failure(failure, str(e))
        return EXIT_USER_ERROR
    except xgb.core.XGBoostError as e:
        reason = text_files.xgboost_message(e)
        if any(word in str(e) for word in ("collective", "socket", "EOF", "tracker")):
            write_failure(
                failure,
                "Lost contact with another host of the training cluster; its own failure "
                f"reason says why ({reason})",
            )
        else:
            write_failure(failure, f"XGBoost rejected the job: {reason}")
        return EXIT_USER_ERROR
    except Exception as e:  # noqa: BLE001 - anything else is our bug; say so, keep the traceback
        traceback.print_exc()
        write_failure(failure, f"Internal error in train.py: {type(e).__name__}: {e}")
        return EXIT_INTERNAL_ERROR
    finally:
        if plotter is not None:
            plotter.close()  # unused when the job failed or this host is not rank 0
    return 0


def main() -> None:
    code = run_job(sys.argv[1:], os.environ, LAUNCH_PLOTTER)
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and closed; skip the interpreter's teardown of xgboost, numpy and
    # their threads (about 0.1 s, a tenth of a small job).
    os._exit(code)


if __name__ == "__main__":
    main()
