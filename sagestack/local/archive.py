"""Deterministic tar.gz archives (files at the root) and their safe extraction."""

from __future__ import annotations

import gzip
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

# A fixed timestamp (2000-01-01) rather than 0: some unpackers warn about 1970 mtimes.
FIXED_MTIME = 946684800
_SKIP_DIRS = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")


class ArchiveError(RuntimeError):
    """An archive that cannot be read or would write outside its destination."""


def _entries(root: Path) -> Iterator[Path]:
    """Every directory and file under root, depth-first in byte order of the names."""
    for entry in sorted(root.iterdir(), key=lambda p: p.name.encode()):
        if entry.is_dir():
            if entry.name in _SKIP_DIRS:
                continue
            yield entry
            yield from _entries(entry)
        elif entry.name.endswith(_SKIP_SUFFIXES):
            continue
        elif entry.is_file():
            yield entry


def _tarinfo(path: Path, arcname: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(arcname)
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    executable = os.access(path, os.X_OK)
    if path.is_dir():
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if executable else 0o644
    return info


def create_tar_gz(source: Path, destination: Path) -> Path:
    """Pack the contents of ``source`` into ``destination`` with entries at the archive root.

    The same tree gives the same bytes: sorted entries, fixed mtimes and owners, normalised
    modes, a gzip header without name or time, and no ``__pycache__``/``*.pyc``. That is what
    lets a content hash of the archive change only when a file changes. Symlinks are followed.
    """
    if not source.is_dir():
        raise ArchiveError(f"cannot archive {source}: not a directory")
    destination.parent.mkdir(parents=True, exist_ok=True)
    tmp = destination.with_name(destination.name + ".tmp")
    with (
        tmp.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path in _entries(source):
            info = _tarinfo(path, path.relative_to(source).as_posix())
            if info.isdir():
                tar.addfile(info)
            else:
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
    tmp.replace(destination)
    return destination


def extract_tar_gz(archive: Path, destination: Path) -> Path:
    """Extract ``archive`` into ``destination``, refusing links or paths that escape it.

    Errors name the archive, so a corrupt model artifact is reported as such rather than as a
    traceback from deep inside tarfile.
    """
    if not archive.is_file():
        raise ArchiveError(f"model archive {archive} does not exist")
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            tar.extractall(destination, filter="data")
    except (tarfile.TarError, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(f"cannot read model archive {archive}: {exc}") from exc
    return destination
