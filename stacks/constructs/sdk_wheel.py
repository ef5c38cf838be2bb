"""The project's SDK (the `sagestack` package) as a byte-reproducible wheel in an S3 asset."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

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


def _package_files(package_dir: Path) -> list[tuple[str, bytes]]:
    files = []
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir.parent)
        if any(part in _SKIPPED_NAMES for part in relative.parts):
            continue
        if path.is_dir() or path.suffix in _SKIPPED_SUFFIXES:
            continue
        files.append((relative.as_posix(), path.read_bytes()))
    return files


def build_wheel_bytes(project_root: Path) -> tuple[str, bytes]:
    """Returns (wheel file name, wheel bytes) for the pure-Python package described by pyproject.

    Stored (uncompressed) entries in sorted order with a fixed timestamp and mode: the bytes do
    not depend on the clock, the file system order, umask or the local zlib build.
    """
    project = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]
    name: str = project["name"]
    version: str = project["version"]
    dist = name.replace("-", "_")
    dist_info = f"{dist}-{version}.dist-info"

    entries = _package_files(project_root / dist)
    metadata_lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {project.get('description', '')}",
    ]
    if "requires-python" in project:
        metadata_lines.append(f"Requires-Python: {project['requires-python']}")
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


def build_wheel(project_root: Path = REPO_ROOT) -> WheelFile:
    """Writes the wheel into a content-addressed temp directory (safe under pytest-xdist)."""
    filename, data = build_wheel_bytes(project_root)
    directory = (
        Path(tempfile.gettempdir()) / "sagestack-sdk-wheel" / hashlib.sha256(data).hexdigest()
    )
    path = directory / filename
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / f".{filename}.{os.getpid()}.partial"
        partial.write_bytes(data)
        partial.replace(path)
    return WheelFile(path=path, filename=filename)


class SdkWheelAsset(Construct):
    """The SDK wheel uploaded by `cdk deploy` to the bootstrap assets bucket.

    Instances without internet access install it with `pip install --no-deps` from S3; the
    runtime dependencies come from the image (SageMaker notebook conda environments).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        wheel = build_wheel()
        self.wheel_filename = wheel.filename
        """File name pip requires (name-version-tags.whl); S3 keys are content hashes instead."""
        self.asset = s3_assets.Asset(self, "Wheel", path=str(wheel.path))

    @property
    def s3_url(self) -> str:
        return self.asset.s3_object_url

    def read_statement(self) -> iam.PolicyStatement:
        """s3:GetObject on exactly this wheel, not on the whole (shared) bootstrap assets bucket."""
        return iam.PolicyStatement(
            actions=["s3:GetObject"],
            resources=[self.asset.bucket.arn_for_objects(self.asset.s3_object_key)],
        )
