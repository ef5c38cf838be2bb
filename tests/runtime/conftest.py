"""Fixtures for the local runtime tests: a dummy entry point, a dummy inference module."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from sagestack.local.archive import create_tar_gz
from sagestack.serving.endpoint import LocalEndpoint, start_local_endpoint

# A training entry point of our own, so these tests do not depend on training/train.py.
# It records what it was given (argv, cwd, SM_* env) and prints XGBoost-style eval lines.
DUMMY_TRAIN = textwrap.dedent(
    """
    import argparse, json, os, sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--num_round", type=int, default=3)
    parser.add_argument("--fail", default="")
    args, _ = parser.parse_known_args()
    output_dir = os.environ["SM_OUTPUT_DIR"]
    if args.fail == "message":
        with open(os.path.join(output_dir, "failure"), "w") as f:
            f.write("Missing required channel: train has no CSV files")
        print("about to fail", flush=True)
        sys.exit(3)
    if args.fail == "crash":
        raise RuntimeError("unexpected crash in train.py")
    if args.fail == "hang":
        import time
        with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "pid"), "w") as f:
            f.write(str(os.getpid()))
        time.sleep(60)
    for i in range(args.num_round):
        print(f"[{i}]\\ttrain-auc:0.9{i}\\tvalidation-auc:0.8{i}", flush=True)
    seen = {
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "env": {k: v for k, v in os.environ.items()
                if k.startswith(("SM_", "SAGESTACK_", "TRAINING_JOB"))},
    }
    with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "seen.json"), "w") as f:
        json.dump(seen, f)
    if os.environ["SM_CURRENT_HOST"] == json.loads(os.environ["SM_HOSTS"])[0]:
        with open(os.path.join(os.environ["SM_MODEL_DIR"], "xgboost-model"), "w") as f:
            f.write("model")
    """
)

# An inference module exercising every return style the container accepts.
DUMMY_INFERENCE = textwrap.dedent(
    """
    import os, time
    import flask

    def model_fn(model_dir):
        if os.path.exists(os.environ.get("DUMMY_FAIL_MARKER", "/nonexistent")):
            raise RuntimeError("marker says fail")
        with open(os.path.join(model_dir, "weights.txt")) as f:
            return f.read()

    def transform_fn(model, body, content_type, accept):
        text = body if isinstance(body, str) else body.decode("utf-8", "replace")
        if text == "boom":
            raise ValueError("boom from transform_fn")
        if text == "415":
            return flask.Response("unsupported here", status=415, mimetype="text/plain")
        if text == "html":
            return "plain string"
        if text.startswith("sleep:"):  # sleep:<seconds>[:<file to create on arrival>]
            _, seconds, *arrived = text.split(":", 2)
            if arrived:
                open(arrived[0], "w").close()
            time.sleep(float(seconds))
        if text == "pid":
            return str(os.getpid()), "text/plain"
        kind = type(body).__name__
        return f"{model}|{kind}|{content_type}|{accept}|{len(body)}", accept
    """
)


@pytest.fixture(scope="session")
def train_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    code = tmp_path_factory.mktemp("train_code")
    (code / "train.py").write_text(DUMMY_TRAIN)
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "stale.pyc").write_bytes(b"x")
    return code


@pytest.fixture(scope="session")
def train_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("train_data")
    (data / "part-0.csv").write_text("1,0.5,0.25\n0,0.1,0.2\n")
    (data / "part-1.csv").write_text("1,0.7,0.15\n")
    return data


@pytest.fixture(scope="session")
def inference_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    code = tmp_path_factory.mktemp("inference_code")
    (code / "inference.py").write_text(DUMMY_INFERENCE)
    return code


@pytest.fixture(scope="session")
def model_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("model")
    (root / "model").mkdir()
    (root / "model" / "weights.txt").write_text("w1")
    return create_tar_gz(root / "model", root / "model.tar.gz")


@pytest.fixture(scope="module")
def endpoint(model_tar: Path, inference_code: Path) -> Iterator[LocalEndpoint]:
    """One shared two-worker server for the request/response tests."""
    with start_local_endpoint(model_tar, code_dir=inference_code, workers=2) as running:
        yield running
