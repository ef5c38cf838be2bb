"""Runs training/train.py's run_job once per request, each in a fresh fork of one warm process.

Fuzzing the training input needs many short jobs. A new interpreter per job spends a second
importing xgboost; running them in the test process would let a native crash (XGBoost's text
parser aborts on some malformed input) take pytest down with it. A fork of a process that has
imported train.py but never trained (so no OpenMP threads exist yet) is both fast and isolated.

Protocol, one JSON object per line: {"argv": [...], "env": {...}, "log": path} on stdin, then
{"exit": code} on stdout, where a negative code is the signal that killed the job.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

TRAINING_DIR = Path(__file__).resolve().parents[2] / "training"


def main() -> int:
    sys.path.insert(0, str(TRAINING_DIR))
    # As train.py does when run as a script: xgboost's sklearn wrappers are never used.
    sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]
    # The report's PNG plots cost a second per accepted case and are not under test here;
    # without matplotlib, report.py skips them (its container-without-matplotlib path).
    sys.modules.setdefault("matplotlib", None)  # type: ignore[arg-type]
    import train  # noqa: F401 - imported once, inherited by every fork

    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 70  # EX_SOFTWARE: run_job itself raised
            try:
                fd = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                sys.stdout = os.fdopen(1, "w", buffering=1)
                sys.stderr = os.fdopen(2, "w", buffering=1)
                code = train.run_job(request["argv"], request["env"])
            except BaseException:  # noqa: BLE001 - reported as the exit code
                import traceback

                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        sys.stdout.write(json.dumps({"exit": code}) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
