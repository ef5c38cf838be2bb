"""Property-based fuzzing of training input: a CSV or libsvm channel that is broken in some way
(header, junk token, ragged row, missing or out-of-range label, infinity, empty file, binary
garbage, ...) makes train.py exit non-zero with one readable line in the failure file that
names the bad file, never with only a traceback, an internal error or a native crash.

Each case runs train.py's own run_job in a fork of one warm process (train_forkserver.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import FUZZ, CaseCounter

FORKSERVER = Path(__file__).resolve().parent / "train_forkserver.py"
TRAINING_FUZZ = settings(FUZZ, max_examples=40)
EXIT_USER_ERROR = 1
FAILURE_REASON_MAX_CHARS = 1024

# Not numbers. The second line is made only of characters that can appear in numbers, which
# is what a byte-level check cannot tell apart from data.
_JUNK = ["abc", "3x", "x", "#", "1/2", "TRUE", '"1"', "0x1f", "NULL", "?"]
_NUMERIC_LOOKING_JUNK = ["1..2", "--1", "1e", "1 2", "1-2", "1e5e5", ".", "-", "1.2.3", "NA"]


class ForkServer:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(FORKSERVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"argv": argv, "env": env, "log": str(log)}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        assert line, f"the fork server died (exit {self.process.poll()})"
        return int(json.loads(line)["exit"])

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def forkserver() -> Iterator[ForkServer]:
    server = ForkServer()
    yield server
    server.close()


def _job(root: Path, fmt: str, data: bytes) -> tuple[dict[str, str], Path, Path]:
    """A job dir like /opt/ml with one train channel file; returns (env, data file, failure)."""
    channel = root / "input" / "data" / "train"
    channel.mkdir(parents=True)
    data_file = channel / ("part-0.csv" if fmt == "csv" else "part-0.libsvm")
    data_file.write_bytes(data)
    config = root / "input" / "config"
    config.mkdir(parents=True)
    content_type = "text/csv" if fmt == "csv" else "text/libsvm"
    (config / "inputdataconfig.json").write_text(
        json.dumps(
            {
                "train": {
                    "ContentType": content_type,
                    "TrainingInputMode": "File",
                    "S3DistributionType": "FullyReplicated",
                    "RecordWrapperType": "None",
                }
            }
        )
    )
    (config / "hyperparameters.json").write_text(
        json.dumps({"num_round": "2", "objective": "binary:logistic"})
    )
    (config / "resourceconfig.json").write_text(
        json.dumps(
            {
                "current_host": "algo-1",
                "hosts": ["algo-1"],
                "current_instance_type": "ml.m5.large",
                "network_interface_name": "eth0",
            }
        )
    )
    env = {
        "SM_MODEL_DIR": str(root / "model"),
        "SM_OUTPUT_DATA_DIR": str(root / "output" / "data"),
        "SM_OUTPUT_DIR": str(root / "output"),
        "SM_INPUT_DIR": str(root / "input"),
        "SM_INPUT_CONFIG_DIR": str(config),
        "SM_CHANNEL_TRAIN": str(channel),
        "SM_HOSTS": '["algo-1"]',
        "SM_CURRENT_HOST": "algo-1",
        "TRAINING_JOB_NAME": "fuzz",
        "OMP_NUM_THREADS": "1",
    }
    return env, data_file, root / "output" / "failure"


def _number(draw: st.DrawFn) -> str:
    return draw(
        st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False, width=32).map(lambda v: f"{v:.6g}"),
            st.integers(-1000, 1000).map(str),
        )
    )


@st.composite
def broken_csv(draw: st.DrawFn) -> tuple[str, bytes]:
    rows = draw(st.integers(2, 25))
    width = draw(st.integers(1, 5))
    table = [[str(draw(st.integers(0, 1)))] + [_number(draw) for _ in range(width)] for _ in range(rows)]
    kind = draw(
        st.sampled_from(
            [
                "header", "junk-token", "ragged", "empty-label", "infinity", "label-range",
                "nan-label", "empty-file", "blank-lines", "garbage", "label-only",
            ]
        )
    )
    row = draw(st.integers(0, rows - 1))
    column = draw(st.integers(1, width))
    if kind == "header":
        table.insert(0, ["label"] + [f"f{i}" for i in range(width)])
    elif kind == "junk-token":
        table[row][draw(st.integers(0, width))] = draw(
            st.sampled_from(_JUNK + _NUMERIC_LOOKING_JUNK)
        )
    elif kind == "ragged":
        if draw(st.booleans()) or width == 1:
            table[row].append(_number(draw))
        else:
            table[row].pop()
        if row == 0:  # the first row sets the width; make a later row differ instead
            table.append(table.pop(0))
    elif kind == "empty-label":
        table[row][0] = ""
    elif kind == "infinity":
        table[row][column] = draw(st.sampled_from(["inf", "-inf", "1e999", "Infinity"]))
    elif kind == "label-range":
        table[row][0] = draw(st.sampled_from(["2", "-1", "7", "1.5"]))
    elif kind == "nan-label":
        table[row][0] = draw(st.sampled_from(["nan", "NaN"]))
    elif kind == "label-only":
        table = [[r[0]] for r in table]
    if kind == "empty-file":
        return kind, b""
    if kind == "blank-lines":
        return kind, b"\n \n\t\n"
    if kind == "garbage":
        return kind, b"\x00\xff" + draw(st.binary(min_size=1, max_size=200))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return kind, (newline.join(",".join(r) for r in table) + newline).encode()


@st.composite
def broken_libsvm(draw: st.DrawFn) -> tuple[str, bytes]:
    rows = draw(st.integers(2, 25))
    width = draw(st.integers(1, 5))
    lines = [
        [str(draw(st.integers(0, 1)))] + [f"{i}:{_number(draw)}" for i in range(width)]
        for _ in range(rows)
    ]
    kind = draw(
        st.sampled_from(
            [
                "no-colon", "bad-index", "bad-value", "bad-label", "csv", "label-range",
                "empty-file", "garbage",
            ]
        )
    )
    row = draw(st.integers(0, rows - 1))
    if kind == "no-colon":
        lines[row].append(draw(st.sampled_from(["3", "abc", "x1"])))
    elif kind == "bad-index":
        lines[row].append(draw(st.sampled_from(["-1:2", "a:1", "1.5:2", ":3"])))
    elif kind == "bad-value":
        lines[row].append(
            draw(st.sampled_from(["1:abc", "1:", "2:1x", "3:?"] + [f"{width}:{j}" for j in _NUMERIC_LOOKING_JUNK if " " not in j]))
        )
    elif kind == "bad-label":
        lines[row][0] = draw(st.sampled_from(["abc", "yes", "1x", "#", "1..2", "--1", "."]))
    elif kind == "csv":
        lines = [[",".join(token.split(":")[-1] for token in line)] for line in lines]
    elif kind == "label-range":
        lines[row][0] = draw(st.sampled_from(["2", "-1", "9"]))
    if kind == "empty-file":
        return kind, b""
    if kind == "garbage":
        return kind, b"\x00\xff" + draw(st.binary(min_size=1, max_size=200))
    return kind, ("\n".join(" ".join(line) for line in lines) + "\n").encode()


def _fuzz(
    fmt: str,
    strategy: st.SearchStrategy[tuple[str, bytes]],
    forkserver: ForkServer,
    tmp_path: Path,
    case_counter: CaseCounter,
) -> None:
    kinds: dict[str, int] = {}
    counter = iter(range(10**9))

    @TRAINING_FUZZ
    @given(case=strategy)
    def prop(case: tuple[str, bytes]) -> None:
        kind, data = case
        root = tmp_path / f"job-{next(counter)}"
        env, data_file, failure_file = _job(root, fmt, data)
        log = root / "job.log"
        code = forkserver.run([], env, log)
        output = log.read_text(errors="replace")
        where = f"{kind} case, data {data[:200]!r}; exit {code}; log tail:\n{output[-1500:]}"
        assert code == EXIT_USER_ERROR, where
        assert failure_file.exists(), where
        reason = failure_file.read_text()
        assert reason.strip() and "\n" not in reason, where
        assert len(reason) <= FAILURE_REASON_MAX_CHARS, where
        assert not reason.startswith("Internal error"), reason
        assert "Traceback" not in output, where
        assert data_file.name in reason, f"the reason should name the file: {reason}"
        kinds[kind] = kinds.get(kind, 0) + 1

    prop()
    case_counter.record(f"training input: broken {fmt}", sum(kinds.values()), kinds=kinds)


def test_broken_csv_fails_with_a_one_line_reason(
    forkserver: ForkServer, tmp_path: Path, case_counter: CaseCounter
) -> None:
    _fuzz("csv", broken_csv(), forkserver, tmp_path, case_counter)


def test_broken_libsvm_fails_with_a_one_line_reason(
    forkserver: ForkServer, tmp_path: Path, case_counter: CaseCounter
) -> None:
    _fuzz("libsvm", broken_libsvm(), forkserver, tmp_path, case_counter)
