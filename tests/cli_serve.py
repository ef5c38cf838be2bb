"""``sagestack serve`` in a subprocess, for the tests that stop it or query it from outside."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path


def serve_in_background(model_data: Path, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    """Start the CLI's server on a free port; the process, its URL and its ready line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sagestack.cli", "serve", "--local", str(model_data),
         "--port", "0", "--workers", "1", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the workers' log
        text=True,
        env=os.environ | {"COLUMNS": "250"},
    )  # fmt: skip
    assert process.stdout is not None
    line = process.stdout.readline()
    url = re.search(r"http://127\.0\.0\.1:\d+", line)
    if url is None:
        process.kill()
        raise AssertionError(f"sagestack serve did not start: {line!r}")
    return process, url.group(0), line
