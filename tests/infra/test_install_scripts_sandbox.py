"""The notebook's lifecycle scripts and the dev box's user data, run for real in a sandbox.

The scripts are the synthesized ones (read back from the cloud assembly), the wheel and the
constraints file are the synthesized S3 assets. The sandbox is a private mount namespace
(`unshare`, root) in which /home, /opt, /usr/local/bin, /usr/local/lib and /etc/systemd/system are
empty temporary directories; `aws`, `dnf`, `systemctl` and `sudo` are recorded stubs first on
PATH; the CodeArtifact mirror is a PEP 503 index on loopback built from the wheelhouse of the
locked dependencies, downloaded with pip from this machine's configured index.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from waiting import wait_until

from .conftest import REPO_ROOT, Synth

pytestmark = pytest.mark.slow

STUBS = Path(__file__).parent / "sandbox_stubs"
MOUNTS = ("/home", "/opt", "/usr/local/bin", "/usr/local/lib", "/etc/systemd/system")
PYTHON311 = Path(sys.base_prefix) / "bin" / "python3.11"

LOCAL_FIT = """
import json, numpy as np, sagestack
from pathlib import Path
from sagestack import S3DataSource, TrainingInstance, XGBoostModel
rng = np.random.default_rng(3)
x = rng.standard_normal((80, 3)); y = (x[:, 0] > 0).astype(float)
for name in ("train", "validation"):
    Path("data", name).mkdir(parents=True)
    np.savetxt(f"data/{name}/part.csv", np.column_stack([y, x]), delimiter=",")
artifacts = XGBoostModel().fit(
    TrainingInstance("local"),
    {n: S3DataSource.local(f"data/{n}") for n in ("train", "validation")},
    {"objective": "binary:logistic", "num_round": 5},
)
print(json.dumps({"sagestack": sagestack.__file__, "artifacts": str(artifacts.path)}))
"""


def _usable() -> str | None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare (a private mount namespace)"
    if not PYTHON311.is_file():
        return f"no Python 3.11 at {PYTHON311}"
    return None


@dataclass
class Sandbox:
    root: Path
    bin: Path
    record: Path
    env: dict[str, str]

    def path(self, absolute: str) -> Path:
        """Where a path inside the sandbox lives on this machine."""
        mount = next(m for m in MOUNTS if absolute == m or absolute.startswith(f"{m}/"))
        return self.root / mount.strip("/").replace("/", "_") / absolute[len(mount) :].lstrip("/")

    def run(self, command: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
        binds = " && ".join(
            f"mount --bind {self.root / m.strip('/').replace('/', '_')} {m}" for m in MOUNTS
        )

        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "bash", "-c",
             f"{binds} && cd /home && {command}"],
            env=self.env, capture_output=True, text=True, timeout=timeout_s,
        )  # fmt: skip

    def run_as_user(
        self, command: str, home: str, timeout_s: float = 300
    ) -> subprocess.CompletedProcess[str]:
        """`command` in `home` as an unprivileged user (uid 65534: like ssm-user, not root, with
        a login PATH), so what the install left readable only by root fails here as there.

        The venv links to this machine's Python 3.11 through the sandbox's bin directory, and
        both may sit under directories only root can enter (/root, pytest's tmp root); inside
        the private mount namespace each such directory is covered by an open tmpfs that holds
        just those paths, as /usr/bin/python3.11 is open to everyone on the box.
        """
        needed = [Path(sys.base_prefix), self.bin]
        hidden = {path: _private_ancestor(path) for path in needed}
        # The sandbox's own PATH runs through directories about to be covered.
        steps = ["export PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        for i, path in enumerate(needed):
            if hidden[path] is not None:
                steps.append(f"mkdir -p /tmp/.hold{i} && mount --bind {path} /tmp/.hold{i}")
        for top in {h for h in hidden.values() if h is not None}:
            steps.append(f"mount -t tmpfs -o mode=755 tmpfs {top}")
        for i, path in enumerate(needed):
            if hidden[path] is not None:
                steps.append(f"mkdir -p {path} && mount --bind /tmp/.hold{i} {path}")
        user = "setpriv --reuid=65534 --regid=65534 --clear-groups"
        login = f"env -i HOME={home} PATH=/usr/local/bin:/usr/bin:/bin"
        steps += [f"mkdir -p {home}", f"chown 65534:65534 {home}", f"cd {home}"]
        return self.run(
            " && ".join(steps) + f" && {user} {login} /bin/bash -c {shlex.quote(command)}",
            timeout_s=timeout_s,
        )

    def recorded(self) -> list[str]:
        return self.record.read_text().splitlines() if self.record.exists() else []


def _assets(synth: Synth) -> dict[str, Path]:
    return {p.name.removeprefix("asset."): p for p in synth.outdir.glob("asset.*") if p.is_file()}


PSEUDO = {
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def _concrete(value: Any) -> str:
    """A script's CloudFormation value as the instance receives it, in account 123456789012."""
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Fn::Join":
        return str(argument[0]).join(_concrete(part) for part in argument[1])
    if function == "Fn::Sub":
        return re.sub(r"\$\{(AWS::[A-Za-z]+)\}", lambda m: PSEUDO[m.group(1)], argument)
    if function == "Ref" and argument in PSEUDO:
        return PSEUDO[argument]
    raise AssertionError(f"a script depends on {value!r}, which the sandbox cannot resolve")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def mirror(synth: Synth, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The mirror on loopback: an index of the SDK's locked dependencies (and ipykernel)."""
    assets = _assets(synth)
    (wheel,) = [p for k, p in assets.items() if k.endswith(".whl")]
    (constraints,) = [p for k, p in assets.items() if k.endswith(".txt")]
    named = tmp_path_factory.mktemp("sdk") / "sagestack-0.1.0-py3-none-any.whl"
    shutil.copyfile(wheel, named)
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    pip = REPO_ROOT / ".uv" / "bin" / "python"  # has pip and this machine's index configuration
    download = subprocess.run(
        [str(pip if pip.is_file() else sys.executable), "-m", "pip", "download", "--quiet",
         "--only-binary=:all:", "--dest", str(wheelhouse), "--constraint", str(constraints),
         str(named), "ipykernel"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert download.returncode == 0, download.stderr
    root = tmp_path_factory.mktemp("mirror")
    simple = root / "pypi" / "pypi" / "simple"
    for file in wheelhouse.glob("*.whl"):
        name = re.sub(r"[-_.]+", "-", file.name.split("-")[0]).lower()
        if name == "sagestack":
            continue  # the scripts take the SDK from S3, not from the mirror
        (simple / name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, simple / name / file.name)
    # Directory listings are PEP 503 project pages for pip.
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/pypi/pypi/"
    server.shutdown()


@pytest.fixture
def sandbox(synth: Synth, mirror: str, tmp_path: Path) -> Sandbox:
    reason = _usable()
    if reason:
        pytest.skip(reason)
    for mount in MOUNTS:
        (tmp_path / "root" / mount.strip("/").replace("/", "_")).mkdir(parents=True)
    s3 = tmp_path / "s3"
    s3.mkdir()
    for key, path in _assets(synth).items():
        shutil.copyfile(path, s3 / key)
    bin_dir = tmp_path / "bin"
    shutil.copytree(STUBS, bin_dir)
    aws = bin_dir / "aws"
    aws.write_text(aws.read_text().replace("#!/usr/bin/env python3", f"#!{sys.executable}", 1))
    # Like AL2023 before `dnf install python3.11`: the system's tools without its Pythons.
    system_bin = tmp_path / "system-bin"
    system_bin.mkdir()
    for tool in Path("/usr/bin").iterdir():
        if not tool.name.startswith("python"):
            (system_bin / tool.name).symlink_to(tool)
    record = tmp_path / "record.log"
    env = {
        # cloud-init runs user data with /usr/local/bin on PATH, as a login shell has it.
        "PATH": f"{bin_dir}:/usr/local/bin:{system_bin}:/usr/sbin",
        "LANG": "C.UTF-8",
        "SANDBOX_RECORD": str(record),
        "SANDBOX_S3": str(s3),
        "SANDBOX_MIRROR_ENDPOINT": mirror,
        "SANDBOX_PYTHON311": str(PYTHON311),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return Sandbox(root=tmp_path / "root", bin=bin_dir, record=record, env=env)


def _lifecycle(synth: Synth, hook: str) -> str:
    (config,) = synth.resources(
        "dev", "DevEnvironment", "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ).values()
    (entry,) = config["Properties"][hook]
    return _concrete(entry["Content"]["Fn::Base64"])


def _write_script(sandbox: Sandbox, name: str, text: str) -> str:
    path = sandbox.bin / name
    path.write_text(text)
    path.chmod(0o755)
    return str(path)


def _some(installed: dict[str, str]) -> str:
    """The versions of the packages a reader looks for first."""
    names = ("sagestack", "xgboost-cpu", "numpy", "pandas", "boto3", "typer", "rich", "ipykernel")
    return ", ".join(f"{n} {installed[n]}" for n in names if n in installed)


def _private_ancestor(path: Path) -> Path | None:
    """The first directory above `path` that others may not enter, if any."""
    for parent in reversed(path.parents):
        if parent != Path("/") and not parent.stat().st_mode & 0o001:
            return parent
    return None


def _check_local_fit(sandbox: Sandbox, python: str) -> dict[str, str]:
    fit = _write_script(sandbox, "local_fit.py", LOCAL_FIT)
    run = sandbox.run(f"mkdir -p /home/fit && cd /home/fit && {python} {fit}", timeout_s=300)
    assert run.returncode == 0, run.stdout + run.stderr
    result: dict[str, str] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def test_notebook_lifecycle_builds_the_sagestack_kernel_from_the_mirror(
    synth: Synth, sandbox: Sandbox
) -> None:
    on_create = _write_script(sandbox, "on_create.sh", _lifecycle(synth, "OnCreate"))
    on_start = _write_script(sandbox, "on_start.sh", _lifecycle(synth, "OnStart"))
    for script in (on_create, on_start):  # a first start: on-create, then on-start
        run = sandbox.run(f"bash {script}", timeout_s=60)  # SageMaker allows 5 minutes
        assert run.returncode == 0, run.stdout + run.stderr
    log = sandbox.path("/home/ec2-user/SageMaker/sagestack-install.log")

    def finished() -> bool:
        text = log.read_text() if log.exists() else ""
        for failure in ("ERROR", "Traceback", "rror:", "denied", "not found"):
            assert failure not in text, text
        return text.count("SageStack environment: ready") == 2

    wait_until(finished, timeout_s=900, what="both background installs to finish", poll_s=1)
    print(log.read_text())

    venv = "/home/ec2-user/SageMaker/.sagestack/venv"
    # `pip freeze` names a wheel installed from a file "sagestack @ file://..."; list does not.
    freeze = sandbox.run(f"{venv}/bin/python -m pip list --format=freeze")
    installed = dict(line.split("==") for line in freeze.stdout.splitlines() if "==" in line)
    constraints = dict(
        line.split("==")
        for line in sandbox.path("/home/ec2-user/SageMaker/.sagestack/constraints.txt")
        .read_text()
        .splitlines()
    )
    assert installed["sagestack"] == "0.1.0"
    for name in ("xgboost-cpu", "numpy", "boto3", "rich", "typer", "ipykernel"):
        assert installed[name] == constraints[name], name
    pinned = {k.lower(): v for k, v in installed.items() if k.lower() in constraints}
    assert pinned == {k: constraints[k] for k in pinned}  # every dependency at the lock's version
    print(f"notebook environment: {len(installed)} packages;", _some(installed))

    kernels = sandbox.run(f"HOME=/home/ec2-user {venv}/bin/jupyter kernelspec list --json")
    assert kernels.returncode == 0, kernels.stderr
    specs = json.loads(kernels.stdout)["kernelspecs"]
    print("kernels:", {name: spec["spec"]["display_name"] for name, spec in specs.items()})
    assert specs["sagestack"]["spec"]["display_name"] == "SageStack (Python 3.11)"
    assert specs["sagestack"]["spec"]["argv"][0] == f"{venv}/bin/python"

    result = _check_local_fit(sandbox, f"{venv}/bin/python")
    print("local fit in the kernel's environment:", result)
    assert result["sagestack"].startswith(f"{venv}/lib/python3.11/site-packages/")
    assert result["artifacts"].endswith("model.tar.gz")

    recorded = sandbox.recorded()
    print("on-create + on-start ran:", *recorded, sep="\n  ")
    assert sum(line.startswith("dnf install -y -q python3.11") for line in recorded) == 1
    assert "systemctl enable --now sagestack-idle-stop.timer" in recorded
    assert sum("get-authorization-token" in line for line in recorded) == 1  # second run: reuse
    assert not [line for line in recorded if "sandbox-token" in line]
    assert "sandbox-token" not in log.read_text()  # the token never reaches the log


def test_notebook_start_succeeds_when_the_mirror_is_unreachable(
    synth: Synth, sandbox: Sandbox
) -> None:
    sandbox.env["SANDBOX_MIRROR_DOWN"] = "1"
    on_start = _write_script(sandbox, "on_start.sh", _lifecycle(synth, "OnStart"))
    run = sandbox.run(f"bash {on_start}", timeout_s=60)
    assert run.returncode == 0, run.stdout + run.stderr
    log = sandbox.path("/home/ec2-user/SageMaker/sagestack-install.log")
    wait_until(
        lambda: log.exists() and "AccessDeniedException" in log.read_text(),
        timeout_s=300,
        what="the install's failure in the user's log",
        poll_s=0.5,
    )
    assert not sandbox.path("/home/ec2-user/SageMaker/.sagestack/installed").exists()


def test_dev_box_user_data_installs_the_sdk_for_every_user(synth: Synth, sandbox: Sandbox) -> None:
    (instance,) = synth.resources("dev", "DevEnvironment", "AWS::EC2::Instance").values()
    user_data = _concrete(instance["Properties"]["UserData"]["Fn::Base64"])
    script = _write_script(sandbox, "user_data.sh", user_data)
    run = sandbox.run(f"bash {script}", timeout_s=900)
    assert run.returncode == 0, run.stdout + run.stderr
    print(run.stdout)

    help_run = sandbox.run("HOME=/home/ssm-user sagestack --help")
    assert help_run.returncode == 0, help_run.stderr
    assert "Usage" in help_run.stdout
    freeze = sandbox.run("/opt/sagestack/venv/bin/python -m pip list --format=freeze")
    installed = dict(line.split("==") for line in freeze.stdout.splitlines() if "==" in line)
    constraints = dict(
        line.split("==")
        for line in sandbox.path("/opt/sagestack/constraints.txt").read_text().split()
    )
    assert installed["sagestack"] == "0.1.0" and "ipykernel" not in installed
    assert {k: v for k, v in installed.items() if k.lower() in constraints} == {
        k: constraints[k.lower()] for k in installed if k.lower() in constraints
    }
    print(f"dev box venv: {len(installed)} packages;", _some(installed))
    print("user data ran:", *sandbox.recorded(), sep="\n  ")
    result = _check_local_fit(sandbox, "sagestack-python")
    print("local fit on the dev box:", result)
    assert result["sagestack"].startswith("/opt/sagestack/venv/lib/python3.11/site-packages/")
    assert sandbox.recorded()[0] == "dnf install -y -q python3.11 python3.11-pip"

    # ssm-user's first login: not root, in its own home.
    home = "/home/ssm-user"
    shutil.copy(sandbox.bin / "local_fit.py", sandbox.path(f"{home}-fit.py"))
    as_user = sandbox.run_as_user(
        f"id -u && sagestack --help && sagestack-python {home}-fit.py", home
    )
    assert as_user.returncode == 0, as_user.stdout + as_user.stderr
    lines = as_user.stdout.strip().splitlines()
    assert lines[0] == "65534" and "Usage" in as_user.stdout
    user_fit = json.loads(lines[-1])
    assert user_fit["artifacts"].startswith(f"{home}/.sagestack/artifacts/")
    print("as an unprivileged user (uid 65534) in", home, "->", user_fit)
