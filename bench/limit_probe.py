"""The in-process serving limit, in a fresh process: ``python -m bench.limit_probe JSON``.

Parse + ``Booster.inplace_predict`` of the very bodies the server gets, with one thread, as
each server worker has. Several copies run each body in the same time slot (the parent sends
the start time once all are ready), so the limit for two workers is measured on the same two
cores rather than extrapolated. Each body is parsed by
every candidate parser first and the fastest is used: the limit is the best this machine can
do, not our handler. The handler itself (inference.transform_fn) is timed alongside, so the
report can split server time into handler and HTTP.
"""

from __future__ import annotations

import functools
import io
import json
import sys
import time
from collections.abc import Callable

sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]  # xgboost's sklearn is unused

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.csv as pacsv  # noqa: E402
import xgboost as xgb  # noqa: E402

Parser = Callable[[bytes, int], np.ndarray]


def _split(body: bytes, width: int) -> np.ndarray:
    return np.array(body.replace(b"\n", b",").split(b","), dtype=np.float32).reshape(-1, width)


def _pandas(body: bytes, width: int) -> np.ndarray:
    return pd.read_csv(io.BytesIO(body), header=None, dtype=np.float32, engine="c").to_numpy()


def _pyarrow(body: bytes, width: int) -> np.ndarray:
    table = pacsv.read_csv(
        io.BytesIO(body + b"\n"),
        read_options=pacsv.ReadOptions(autogenerate_column_names=True, use_threads=False),
        convert_options=pacsv.ConvertOptions(
            column_types={f"f{i}": pa.float32() for i in range(width)}
        ),
    )
    return np.column_stack([column.to_numpy() for column in table.columns])


def _json_stdlib(body: bytes, width: int) -> np.ndarray:
    return np.asarray(json.loads(body)["instances"], dtype=np.float32)


def _json_as_csv(body: bytes, width: int) -> np.ndarray:
    """A rectangular numeric JSON array is CSV once the brackets become newlines."""
    text = body[body.index(b"[[") + 2 : body.rindex(b"]]")].replace(b"],[", b"\n")
    return _pyarrow(text, width) if text.count(b"\n") > 64 else _split(text, width)


PARSERS: dict[str, dict[str, Parser]] = {
    "csv": {"split": _split, "pandas": _pandas, "pyarrow": _pyarrow},
    "json": {"json": _json_stdlib, "json-as-csv": _json_as_csv},
}
CONTENT_TYPES = {"csv": "text/csv", "json": "application/json"}


def _per_call_s(fn: Callable[[], object], budget_s: float) -> float:
    """Median seconds per call over a short budget (at least 3 calls)."""
    times: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(times) < 3 or time.perf_counter() < deadline:
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _handler(spec: dict) -> Callable[[bytes, str], object]:
    """inference.transform_fn as the server calls it (str body for csv/json)."""
    import importlib

    sys.path.insert(0, spec["inference_dir"])
    inference = importlib.import_module("inference")
    model = inference.model_fn(spec["model_dir"])

    def call(body: bytes, ctype: str) -> object:
        return inference.transform_fn(model, body.decode(), ctype, ctype)

    return call


def main() -> None:
    spec = json.loads(sys.argv[1])
    booster = xgb.Booster()
    with open(spec["model_dir"] + "/xgboost-model", "rb") as f:
        booster.load_model(bytearray(f.read()))
    booster.set_param({"nthread": 1})
    width = booster.num_features()
    handler = _handler(spec)
    bodies = []
    for item in spec["bodies"]:
        with open(item["path"], "rb") as f:
            body = f.read()
        options = PARSERS[item["format"]]
        for parsed in (fn(body, width) for fn in options.values()):
            assert parsed.shape == (item["rows"], width), parsed.shape
        costs = {
            name: _per_call_s(functools.partial(fn, body, width), 0.15)
            for name, fn in options.items()
        }
        best = min(costs, key=costs.__getitem__)
        handler_s = _per_call_s(
            functools.partial(handler, body, CONTENT_TYPES[item["format"]]), 0.3
        )
        bodies.append((item, body, options[best], best, handler_s))

    # Tell the parent we are ready and wait for the common start time, so every copy runs
    # each body in the same time slot whatever its import and calibration took.
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    results = []
    for index, (item, body, parse, best, handler_s) in enumerate(bodies):
        window_start = start_at + index * spec["slot_s"]
        while time.time() < window_start:
            time.sleep(0.001)
        end = window_start + spec["duration_s"]
        latencies = []
        while time.time() < end:
            started = time.perf_counter()
            booster.inplace_predict(parse(body, width))
            latencies.append(time.perf_counter() - started)
        lat = np.asarray(latencies)
        results.append(
            {
                "name": item["name"],
                "parser": best,
                "calls": len(latencies),
                "busy_s": float(lat.sum()),
                "p50_ms": float(np.percentile(lat, 50) * 1e3),
                "p99_ms": float(np.percentile(lat, 99) * 1e3),
                "handler_ms": handler_s * 1e3,
            }
        )
    print(json.dumps({"results": results}), flush=True)


if __name__ == "__main__":
    main()
