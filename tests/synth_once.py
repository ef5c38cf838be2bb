"""One synthesized app per test session, shared by every xdist worker and test directory.

aws_cdk is not imported here: callers pass the synth function, so a directory that only reads
the assembly (tests/reliability) starts Node only when no other worker has synthesized yet.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path


def shared_dir(base: Path) -> Path:
    """The session's base temp dir, the same for the controller and every xdist worker."""
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def synthesized_once(base: Path, synthesize: Callable[[Path], None]) -> Path:
    """The assembly directory, synthesized by the first caller under a lock; the rest wait."""
    shared = shared_dir(base)
    outdir = shared / "sagestack-cdk.out"
    with open(shared / "sagestack-cdk.out.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (outdir / "manifest.json").exists():
            partial = shared / f"sagestack-cdk.out.{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            synthesize(partial)
            partial.rename(outdir)
    return outdir
