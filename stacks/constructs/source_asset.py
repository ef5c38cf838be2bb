"""A deterministic ``.tar.gz`` of a source directory, uploaded as a CDK file asset for SageMaker."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import AssetHashType
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

# 2000-01-01T00:00:00Z. Not the epoch: the container pip-installs the submit directory, and
# building a wheel (a zip) from files dated before 1980 raises "ZIP does not support timestamps
# before 1980".
FIXED_MTIME = 946_684_800
_EXCLUDED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")  # one path segment, never "." or ".."


def _included_files(source_dir: Path, exclude: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for root, dirs, names in os.walk(source_dir):
        # Hidden entries (.DS_Store, .venv, editor files) are never part of the code we ship.
        dirs[:] = [d for d in dirs if d not in _EXCLUDED_DIRS and not d.startswith(".")]
        for name in names:
            path = Path(root, name)
            rel = path.relative_to(source_dir).as_posix()
            if name.startswith(".") or name.endswith(_EXCLUDED_SUFFIXES):
                continue
            if any(Path(rel).match(pattern) for pattern in exclude):
                continue
            files.append(path)
    return sorted(files, key=lambda p: p.relative_to(source_dir).as_posix())


def _members(
    source_dir: Path,
    exclude: Sequence[str],
    extra_dirs: Mapping[str, Path],
    extra_files: Mapping[str, Path],
) -> list[tuple[str, Path]]:
    """(name in the archive, file), sorted by name: source_dir at the root, each extra
    directory under its own name, each extra file at its own path."""
    members = [
        (p.relative_to(source_dir).as_posix(), p) for p in _included_files(source_dir, exclude)
    ]
    for prefix, extra in extra_dirs.items():
        if not _PLAIN_NAME.fullmatch(prefix):
            raise ValueError(f"extra_dirs keys must be plain directory names, got {prefix!r}")
        extra = extra.resolve()
        if not extra.is_dir():
            raise ValueError(
                f"extra_dirs[{prefix!r}] must be an existing directory, got {str(extra)!r}"
            )
        members += [
            (f"{prefix}/{p.relative_to(extra).as_posix()}", p)
            for p in _included_files(extra, exclude)
        ]
    for name, path in extra_files.items():
        if not all(_PLAIN_NAME.fullmatch(part) for part in name.split("/")):
            raise ValueError(
                f"extra_files keys must be relative paths of plain names, got {name!r}"
            )
        if not path.is_file():
            raise ValueError(f"extra_files[{name!r}] must be an existing file, got {str(path)!r}")
        members.append((name, path.resolve()))
    names = [name for name, _ in members]
    if len(set(names)) != len(names):
        raise ValueError(
            f"extra_dirs {sorted(extra_dirs)} or extra_files collide with files of "
            f"{str(source_dir)!r}"
        )
    return sorted(members)


def build_tarball(
    source_dir: Path,
    exclude: Sequence[str] = (),
    extra_dirs: Mapping[str, Path] | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> bytes:
    """The directory's files at the archive root, byte-identical for identical contents.

    Sorted entries, fixed mtime, uid/gid 0 with empty owner names, mode 0644, no directory
    entries, PAX format, and a gzip header with no file name and a fixed mtime.
    """
    source_dir = source_dir.resolve()
    if not source_dir.is_dir():
        raise ValueError(f"source_dir must be an existing directory, got {str(source_dir)!r}")
    members = _members(source_dir, exclude, extra_dirs or {}, extra_files or {})
    if not members:
        raise ValueError(f"source_dir {str(source_dir)!r} contains no files to package")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, path in members:
            data = path.read_bytes()  # follows symlinks: the archive holds regular files only
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = FIXED_MTIME
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            tar.addfile(info, io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=out, compresslevel=9, mtime=FIXED_MTIME
    ) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def write_tarball(
    source_dir: Path,
    build_dir: Path,
    exclude: Sequence[str] = (),
    extra_dirs: Mapping[str, Path] | None = None,
    extra_files: Mapping[str, Path] | None = None,
) -> Path:
    """Write the archive to ``build_dir/<sha256>/<dirname>.tar.gz`` (atomically) and return it."""
    data = build_tarball(source_dir, exclude, extra_dirs, extra_files)
    digest = hashlib.sha256(data).hexdigest()
    target = build_dir / digest / f"{source_dir.resolve().name}.tar.gz"
    if target.is_file() and target.read_bytes() == data:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def _default_build_dir() -> Path:
    # build/ at the repository root (git-ignored); keyed by content hash, so concurrent synths
    # and stale archives never collide.
    return Path(__file__).resolve().parents[2] / "build" / "assets"


@dataclass(frozen=True, kw_only=True)
class SourceAssetProps:
    """Props for :class:`SourceAsset`."""

    source_dir: Path
    exclude: Sequence[str] = field(default_factory=tuple)
    """Extra glob patterns (relative paths) to leave out; default: only caches, .pyc, dotfiles."""
    build_dir: Path | None = None
    """Where the archive is written before staging; default: ``<repo>/build/assets``."""
    extra_dirs: Mapping[str, Path] = field(default_factory=dict)
    """Other directories shipped in the same archive, each under its key (a subdirectory)."""
    extra_files: Mapping[str, Path] = field(default_factory=dict)
    """Single files shipped in the same archive, each at its key (``pkg/mod.py``); default
    none."""


def archive_bytes(props: SourceAssetProps) -> bytes:
    """The archive a SourceAsset with these props uploads (tests build it without a stack)."""
    return build_tarball(props.source_dir, props.exclude, props.extra_dirs, props.extra_files)


class SourceAsset(Construct):
    """A directory shipped to S3 as one deterministic ``.tar.gz`` (the SageMaker submit dir)."""

    def __init__(self, scope: Construct, construct_id: str, *, props: SourceAssetProps) -> None:
        super().__init__(scope, construct_id)
        build_dir = props.build_dir or _default_build_dir()
        self.archive_path = write_tarball(
            props.source_dir, build_dir, props.exclude, props.extra_dirs, props.extra_files
        )
        self.sha256 = self.archive_path.parent.name
        self.asset = s3_assets.Asset(
            self,
            "Archive",
            path=str(self.archive_path),
            # The content hash we computed, not a path-dependent fingerprint: same bytes, same
            # object key, same template.
            asset_hash_type=AssetHashType.CUSTOM,
            asset_hash=self.sha256,
        )
        self.bucket = self.asset.bucket
        self.object_key = self.asset.s3_object_key
        self.s3_uri = self.asset.s3_object_url
        # The object's file name inside a SageMaker "code" channel (/opt/ml/input/data/code/…).
        self.file_name = self.object_key.rsplit("/", 1)[-1]

    def grant_read(self, grantee: iam.IGrantable) -> None:
        self.asset.grant_read(grantee)

    def read_statement(self, sid: str) -> iam.PolicyStatement:
        """s3:GetObject on this one archive, for a policy that lists its statements itself."""
        return iam.PolicyStatement(
            sid=sid,
            actions=["s3:GetObject"],
            resources=[self.bucket.arn_for_objects(self.object_key)],
        )
