"""The project's SDK wheel and the lock's pins for its dependencies, byte-reproducible S3 assets."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

from stacks.constructs.package_mirror import PackageMirrorRef
from stacks.constructs.sdk_install import SdkInstallSource

REPO_ROOT = Path(__file__).resolve().parents[2]

# Zip entries carry a timestamp; a fixed one (the earliest zip can store) makes the archive a
# pure function of the sources, so the asset hash changes only when the SDK changes.
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_SKIPPED_NAMES = {"__pycache__", ".DS_Store", ".pytest_cache", ".mypy_cache", ".ruff_cache"}
_SKIPPED_SUFFIXES = {".pyc", ".pyo"}


@dataclass(frozen=True, kw_only=True)
class WheelFile:
    """A built wheel: where it is and the file name pip needs to accept it."""

    path: Path
    filename: str


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _tree_files(source: Path, target: str) -> list[tuple[str, bytes]]:
    """Every file under `source`, named `target/<relative path>`, minus caches and bytecode."""
    files = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in _SKIPPED_NAMES for part in relative.parts):
            continue
        if path.is_dir() or path.suffix in _SKIPPED_SUFFIXES:
            continue
        files.append((f"{target}/{relative.as_posix()}", path.read_bytes()))
    return files


def _wheel_sources(project_root: Path, pyproject: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The files hatchling puts in the wheel: `packages`, then `force-include` (the bundled
    training/ and inference/ code), as archive paths in sorted order."""
    wheel_target = pyproject.get("tool", {}).get("hatch", {}).get("build", {})
    wheel_target = wheel_target.get("targets", {}).get("wheel", {})
    dist = pyproject["project"]["name"].replace("-", "_")
    files: list[tuple[str, bytes]] = []
    for package in wheel_target.get("packages", [dist]):
        files += _tree_files(project_root / package, Path(package).name)
    for source, target in wheel_target.get("force-include", {}).items():
        files += _tree_files(project_root / source, target.strip("/"))
    names = [name for name, _ in files]
    if len(set(names)) != len(names):
        raise ValueError("pyproject.toml: force-include overlaps the package's own files")
    return sorted(files)


def build_wheel_bytes(project_root: Path) -> tuple[str, bytes]:
    """Returns (wheel file name, wheel bytes): the files and requirements hatchling builds from
    pyproject.toml (tests/sdk/test_wheel.py compares the two), made reproducible.

    `uv build` would need hatchling from an index at synth; this needs nothing. Stored
    (uncompressed) entries in sorted order with a fixed timestamp and mode: the bytes do not
    depend on the clock, the file system order, umask or the local zlib build.
    """
    pyproject = tomllib.loads((project_root / "pyproject.toml").read_text())
    project = pyproject["project"]
    name: str = project["name"]
    version: str = project["version"]
    dist = name.replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"

    entries = _wheel_sources(project_root, pyproject)
    metadata_lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        metadata_lines.append(f"Requires-Python: {project['requires-python']}")
    # pip resolves these from the package mirror; pinned by the constraints from uv.lock.
    metadata_lines += [f"Requires-Dist: {requirement}" for requirement in project["dependencies"]]
    entries.append((f"{dist_info}/METADATA", ("\n".join(metadata_lines) + "\n").encode()))
    wheel_meta = (
        "Wheel-Version: 1.0\nGenerator: sagestack-cdk\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    entries.append((f"{dist_info}/WHEEL", wheel_meta.encode()))
    scripts = project.get("scripts", {})
    if scripts:
        lines = ["[console_scripts]", *(f"{k} = {v}" for k, v in sorted(scripts.items()))]
        entries.append((f"{dist_info}/entry_points.txt", ("\n".join(lines) + "\n").encode()))
    record_name = f"{dist_info}/RECORD"
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in entries)
    entries.append((record_name, f"{record}{record_name},,\n".encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for path, data in entries:
            info = zipfile.ZipInfo(path, date_time=_FIXED_ZIP_TIME)
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, so the mode above is honoured on every OS
            archive.writestr(info, data)
    return f"{dist}-{version}-py3-none-any.whl", buffer.getvalue()


KERNEL_REQUIREMENTS = ("ipykernel",)
"""What the notebook's environment adds to the SDK to be a Jupyter kernel (pinned by the lock too,
where the dev group holds it)."""


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_constraints(project_root: Path, extra_roots: tuple[str, ...] = ()) -> str:
    """A pip constraints file (`name==version` lines, sorted) for the closure of the project's
    runtime dependencies, plus `extra_roots`, as uv.lock pins them.

    The `uv export` equivalent computed from the lock alone, so synth needs no uv: every package
    reachable through `dependencies` and the extras asked for, whatever its markers (a constraint
    on a package pip does not need is ignored). No dev or infra group unless named in
    `extra_roots`.
    """
    lock = tomllib.loads((project_root / "uv.lock").read_text())
    project_name = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]["name"]
    packages: dict[str, dict[str, Any]] = {}
    for package in lock["package"]:
        name = _normalized(package["name"])
        if name in packages:
            # A forked resolution (two versions for different platforms) needs markers here.
            raise ValueError(f"uv.lock pins {name} twice; locked_constraints cannot choose")
        packages[name] = package

    pins: dict[str, str] = {}
    pending: list[tuple[str, tuple[str, ...]]] = [(_normalized(project_name), ())]
    pending += [(_normalized(root), ()) for root in extra_roots]
    seen: set[tuple[str, tuple[str, ...]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        if name not in packages:
            raise ValueError(f"uv.lock has no package {name!r}")
        package = packages[name]
        if name != _normalized(project_name):
            pins[name] = package["version"]
        dependencies = list(package.get("dependencies", []))
        for extra in extras:
            dependencies += package.get("optional-dependencies", {}).get(extra, [])
        for dependency in dependencies:
            pending.append((_normalized(dependency["name"]), tuple(dependency.get("extra", ()))))
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    return "".join(f"{line}\n" for line in lines)


def _content_addressed(filename: str, data: bytes) -> Path:
    """Writes `data` once into a temp directory named by its hash (safe under pytest-xdist)."""
    directory = (
        Path(tempfile.gettempdir()) / "sagestack-sdk-wheel" / hashlib.sha256(data).hexdigest()
    )
    path = directory / filename
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".{filename}.{os.getpid()}.partial"
        partial.write_bytes(data)
        partial.replace(path)
    return path


def build_wheel(project_root: Path = REPO_ROOT) -> WheelFile:
    """Writes the wheel into a content-addressed temp directory."""
    filename, data = build_wheel_bytes(project_root)
    return WheelFile(path=_content_addressed(filename, data), filename=filename)


CONSTRAINTS_FILENAME = "constraints.txt"


class SdkWheelAsset(Construct):
    """The SDK wheel and its constraints file, uploaded by `cdk deploy` to the assets bucket.

    Instances without internet access copy both from S3 and install the wheel with its
    dependencies from the package mirror (CodeArtifact), pinned to uv.lock by the constraints.
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        wheel = build_wheel()
        self.wheel_filename = wheel.filename
        """File name pip requires (name-version-tags.whl); S3 keys are content hashes instead."""
        self.asset = s3_assets.Asset(self, "Wheel", path=str(wheel.path))
        # Content-addressed files live in a directory named by their sha256.
        self.wheel_sha256 = wheel.path.parent.name
        constraints_path = _content_addressed(
            CONSTRAINTS_FILENAME, locked_constraints(REPO_ROOT, KERNEL_REQUIREMENTS).encode()
        )
        self.constraints_sha256 = constraints_path.parent.name
        self.constraints_asset = s3_assets.Asset(self, "Constraints", path=str(constraints_path))

    @property
    def s3_url(self) -> str:
        return self.asset.s3_object_url

    @property
    def constraints_s3_url(self) -> str:
        return self.constraints_asset.s3_object_url

    def install_source(self, region: str, mirror: PackageMirrorRef) -> SdkInstallSource:
        """What the install scripts need of this wheel (names, URLs, hashes) and the mirror."""
        return SdkInstallSource(
            wheel_filename=self.wheel_filename,
            wheel_s3_url=self.s3_url,
            wheel_sha256=self.wheel_sha256,
            constraints_s3_url=self.constraints_s3_url,
            constraints_sha256=self.constraints_sha256,
            region=region,
            mirror=mirror,
        )

    def read_statement(self) -> iam.PolicyStatement:
        """s3:GetObject on exactly the wheel and the constraints, not on the whole (shared)
        bootstrap assets bucket."""
        return iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[
                asset.bucket.arn_for_objects(asset.s3_object_key)
                for asset in (self.asset, self.constraints_asset)
            ],
        )
