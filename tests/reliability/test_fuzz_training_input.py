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
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from .conftest import FUZZ, CaseCounter

pytestmark = pytest.mark.slow  # fuzzing: hundreds of generated inputs

FORKSERVER = Path(__file__).resolve().parent / "train_forkserver.py"
# A few examples per way of breaking a file: ~100 CSV and ~80 libsvm jobs in all. No
# shrinking: the examples are small already, and a shrink reruns accepted (slow) jobs.
TRAINING_FUZZ = settings(FUZZ, max_examples=3, phases=[Phase.explicit, Phase.reuse, Phase.generate])
EXIT_USER_ERROR = 1
FAILURE_REASON_MAX_CHARS = 1024

# Not numbers. The second line is made only of characters that can appear in numbers, which
# is what a byte-level check cannot tell apart from data.
_JUNK = ["abc", "3x", "x", "#", "1/2", "TRUE", '"1"', "0x1f", "NULL", "?"]
_NUMERIC_LOOKING_JUNK = ["1..2", "--1", "1e5e5", ".", "NA"]


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


CSV_KINDS = [
    "header",
    "ragged",
    "empty-label",
    "label-range",
    "nan-label",
    "empty-file",
    "blank-lines",
    "garbage",
    "label-only",
    *(f"token:{t}" for t in _JUNK + _NUMERIC_LOOKING_JUNK),
    *(f"infinity:{t}" for t in ("inf", "-inf", "Infinity", "1e999")),
]
LIBSVM_KINDS = [
    "csv",
    "label-range",
    "empty-file",
    "garbage",
    *(f"feature:{t}" for t in ("3", "abc", "-1:2", "a:1", "1.5:2", ":3", "1:abc", "1:", "2:1x")),
    *(f"feature:1:{t}" for t in _NUMERIC_LOOKING_JUNK),
    *(f"label:{t}" for t in ("abc", "yes", "1x", "#", "1..2", "--1", ".")),
]


@st.composite
def broken_csv(draw: st.DrawFn, kind: str) -> bytes:
    """A valid label-first CSV table (binary labels), then broken in the one named way."""
    rows = draw(st.integers(2, 25))
    width = draw(st.integers(1, 5))
    table = [
        [str(draw(st.integers(0, 1)))] + [_number(draw) for _ in range(width)] for _ in range(rows)
    ]
    # Any line but the first: train.py checks the first line on its own, field by field.
    row = draw(st.integers(1, rows - 1))
    name, _, token = kind.partition(":")
    if name == "header":
        table.insert(0, ["label"] + [f"f{i}" for i in range(width)])
    elif name == "token":
        table[row][draw(st.integers(0, width))] = token
    elif name == "infinity":
        table[row][draw(st.integers(1, width))] = token
    elif name == "ragged":
        if draw(st.booleans()) or width == 1:
            table[row].append(_number(draw))
        else:
            table[row].pop()
    elif name == "empty-label":
        table[row][0] = ""
    elif name == "label-range":
        table[row][0] = draw(st.sampled_from(["2", "-1", "7", "1.5"]))
    elif name == "nan-label":
        table[row][0] = draw(st.sampled_from(["nan", "NaN"]))
    elif name == "label-only":
        table = [[r[0]] for r in table]
    elif name == "empty-file":
        return b""
    elif name == "blank-lines":
        return b"\n \n\t\n"
    elif name == "garbage":
        return b"\x00\xff" + draw(st.binary(min_size=1, max_size=200))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return (newline.join(",".join(r) for r in table) + newline).encode()


@st.composite
def broken_libsvm(draw: st.DrawFn, kind: str) -> bytes:
    """Valid `label index:value ...` lines (binary labels), then broken in the named way."""
    rows = draw(st.integers(2, 25))
    width = draw(st.integers(1, 5))
    lines = [
        [str(draw(st.integers(0, 1)))] + [f"{i}:{_number(draw)}" for i in range(width)]
        for _ in range(rows)
    ]
    row = draw(st.integers(1, rows - 1))  # not the first line, as for CSV
    name, _, token = kind.partition(":")
    if name == "feature":
        lines[row].insert(draw(st.integers(1, len(lines[row]))), token)
    elif name == "label":
        lines[row][0] = token
    elif name == "csv":
        lines = [[",".join(t.split(":")[-1] for t in line)] for line in lines]
    elif name == "label-range":
        lines[row][0] = draw(st.sampled_from(["2", "-1", "9"]))
    elif name == "empty-file":
        return b""
    elif name == "garbage":
        return b"\x00\xff" + draw(st.binary(min_size=1, max_size=200))
    return ("\n".join(" ".join(line) for line in lines) + "\n").encode()


def _fuzz(
    fmt: str,
    kind: str,
    strategy: st.SearchStrategy[bytes],
    forkserver: ForkServer,
    tmp_path: Path,
    case_counter: CaseCounter,
) -> None:
    cases = 0

    @TRAINING_FUZZ
    @given(data=strategy)
    def prop(data: bytes) -> None:
        nonlocal cases
        root = tmp_path / f"job-{cases}"
        cases += 1
        env, data_file, failure_file = _job(root, fmt, data)
        log = root / "job.log"
        code = forkserver.run([], env, log)
        output = log.read_text(errors="replace")
        where = f"{kind}: data {data[:200]!r}; exit {code}; log tail:\n{output[-1500:]}"
        assert code == EXIT_USER_ERROR, where
        assert failure_file.exists(), where
        reason = failure_file.read_text()
        assert reason.strip() and "\n" not in reason, where
        assert len(reason) <= FAILURE_REASON_MAX_CHARS, where
        assert not reason.startswith("Internal error"), reason
        assert "Traceback" not in output, where
        assert data_file.name in reason, f"the reason should name the file: {reason}"

    try:
        prop()
    finally:  # counted whether or not a case failed
        case_counter.record(f"training input: broken {fmt}, {kind}", cases)


@pytest.mark.parametrize("kind", CSV_KINDS)
def test_broken_csv_fails_with_a_one_line_reason(
    kind: str, forkserver: ForkServer, tmp_path: Path, case_counter: CaseCounter
) -> None:
    _fuzz("csv", kind, broken_csv(kind), forkserver, tmp_path, case_counter)


@pytest.mark.parametrize("kind", LIBSVM_KINDS)
def test_broken_libsvm_fails_with_a_one_line_reason(
    kind: str, forkserver: ForkServer, tmp_path: Path, case_counter: CaseCounter
) -> None:
    _fuzz("libsvm", kind, broken_libsvm(kind), forkserver, tmp_path, case_counter)
