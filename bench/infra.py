"""Infrastructure: synth of every environment in-process and through the CDK CLI, and the
wall time of `make test`.

In-process synth is timed inside a fresh process (build_app + app.synth(), the jsii start-up
excluded and reported beside it); its baseline is the same process synthesizing an empty App,
the cost no CDK app can avoid. The CLI's baseline is `python app.py` run directly, so the
ratio is what the CLI adds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.common import OUT, REPO, Row, log, median, python_env, run_process

_PROBE = """
import json, tempfile, time
started = time.perf_counter()
from aws_cdk import App
from stacks.build import build_app, config_of, create_app, read_cdk_json_context
imported = time.perf_counter()
empty = App(outdir=tempfile.mkdtemp()); empty.synth()
floor = time.perf_counter()
app = create_app(context=read_cdk_json_context(), outdir=tempfile.mkdtemp())
stages = build_app(config_of(app), app)
app.synth()
done = time.perf_counter()
print(json.dumps({"import_s": imported - started, "empty_s": floor - imported,
                  "synth_s": done - floor, "stages": len(stages)}))
"""


def cdk_env() -> dict[str, str]:
    """The Makefile's CDK environment: offline, quiet, pinned CLI first on PATH."""
    env = python_env(
        CDK_DISABLE_CLI_TELEMETRY="true",
        CDK_DISABLE_VERSION_CHECK="1",
        AWS_EC2_METADATA_DISABLED="true",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    bins = [str(REPO / "node_modules" / ".bin"), str(REPO / ".venv" / "bin")]
    env["PATH"] = os.pathsep.join([*bins, env.get("PATH", "")])
    return env


def _cli_synth_s(outdir: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["npx", "--no-install", "cdk", "synth", "--quiet", "--output", outdir],
        cwd=REPO,
        env=cdk_env(),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def run(repeats: int, with_make_test: bool) -> list[Row]:
    rows: list[Row] = []
    probes, apps, clis = [], [], []
    have_cli = (REPO / "node_modules" / ".bin" / "cdk").exists()
    for round_no in range(1, repeats + 1):
        log(f"infra round {round_no}/{repeats}: synth in-process, python app.py, cdk synth")
        probes.append(run_process([sys.executable, "-c", _PROBE], env=cdk_env(), cwd=REPO))
        with tempfile.TemporaryDirectory(dir=OUT) as out:
            env = cdk_env() | {"CDK_OUTDIR": out}
            apps.append(run_process([sys.executable, "app.py"], env=env, cwd=REPO).wall_s)
        if have_cli:
            with tempfile.TemporaryDirectory(dir=OUT) as out:
                clis.append(_cli_synth_s(out))
    synth = median([p.report["synth_s"] for p in probes])
    rows.append(
        Row(
            "Infrastructure",
            f"synth all {probes[0].report['stages']} environments in-process "
            "(build_app + app.synth)",
            synth,
            "s",
            median([p.report["empty_s"] for p in probes]),
            "synth of an empty App in the same process",
            "< 5 s",
            synth < 5.0,
            note=f"plus {median([p.report['import_s'] for p in probes]):.2f} s to import aws_cdk"
            " and stacks (jsii start-up)",
            samples=[p.report["synth_s"] for p in probes],
        )
    )
    if clis:
        rows.append(
            Row(
                "Infrastructure",
                "npx cdk synth (all environments)",
                median(clis),
                "s",
                median(apps),
                "python app.py (the same synth without the CLI)",
                samples=clis,
            )
        )
    else:
        log("node_modules/.bin/cdk missing (run `make setup`); skipping the CLI synth")
    if with_make_test:
        rows.append(_make_test_row())
    return rows


def _make_test_row() -> Row:
    """`make test` once (it takes minutes); no same-run baseline exists, so the target is
    absolute."""
    log("running make test (takes a few minutes)")
    make = shutil.which("make") or "make"
    started = time.perf_counter()
    done = subprocess.run([make, "test"], cwd=REPO, capture_output=True, text=True)
    wall = time.perf_counter() - started
    tail = done.stdout.strip().splitlines()[-1:] or [""]
    return Row(
        "Infrastructure",
        "make test (wall)",
        wall,
        "s",
        target="< 180 s",
        ok=wall < 180 and done.returncode == 0,
        note=f"exit {done.returncode}: {tail[0][:120]}",
    )
