"""Deterministic tar.gz archives (files at the root) and their safe extraction."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, cast

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


# Limits for extract_tar_gz: far above any model we serve (an XGBoost model and its code/ are
# megabytes and dozens of files), far below what fills a disk or an inode table.
MAX_EXTRACTED_BYTES = 4 * 1024**3
MAX_MEMBERS = 10_000
# Room per member for its tar header, padding and a PAX record, on top of the members' data.
_HEADER_ALLOWANCE = 4096
# tarfile reads a header (PAX records, GNU long names) whole; data comes in 16 KiB reads.
_MAX_READ = 1024 * 1024
_COMPRESSIONS = (
    (b"\x1f\x8b", gzip.GzipFile),
    (b"BZh", bz2.BZ2File),
    (b"\xfd7zXZ\x00", lzma.LZMAFile),
)


class _Bounded:
    """An archive's uncompressed tar stream that stops at ``limit`` bytes, headers included.

    Capping the sizes members declare is not enough: tarfile reads each header whole, so a PAX
    record that decompresses to gigabytes would be in memory before any member is seen.
    """

    def __init__(
        self, raw: io.BufferedIOBase, limit: int, refuse: Callable[[str], ArchiveError]
    ) -> None:
        self._raw, self._limit, self._refuse = raw, limit, refuse

    def _too_large(self) -> ArchiveError:
        return self._refuse(f"its files and tar headers unpack to more than {self._limit} bytes")

    def read(self, size: int = -1) -> bytes:
        if size > _MAX_READ:
            raise self._refuse(f"it has a tar header of {size} bytes (the limit is {_MAX_READ})")
        remaining = self._limit - self._raw.tell()
        data = self._raw.read(remaining + 1 if size < 0 else min(size, remaining + 1))
        if self._raw.tell() > self._limit:
            raise self._too_large()
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET and offset > self._limit:
            raise self._too_large()
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()


def _open_uncompressed(archive: Path) -> io.BufferedIOBase:
    with archive.open("rb") as handle:
        magic = handle.read(6)
    for prefix, codec in _COMPRESSIONS:
        if magic.startswith(prefix):
            return codec(archive, "rb")
    return archive.open("rb")


def _shown(name: str) -> str:
    """A member name for a one-line message (crafted archives use names of thousands of bytes)."""
    return repr(name if len(name) <= 60 else name[:60] + "...")


def _member_problem(member: tarfile.TarInfo) -> str | None:
    """Why ``member`` may not be extracted, or None. Only files and directories whose relative
    paths stay inside the destination pass: links are refused outright rather than resolved,
    since resolving them safely is what tarfile's own filter got wrong (CVE-2025-4517)."""
    name, shown = PurePosixPath(member.name), _shown(member.name)
    if name.is_absolute():
        return f"{shown} is an absolute path"
    if ".." in name.parts:
        return f"{shown} climbs out of the destination with '..'"
    if member.issym() or member.islnk():
        kind = "symbolic" if member.issym() else "hard"
        return f"{shown} is a {kind} link (to {_shown(member.linkname)})"
    if not (member.isreg() or member.isdir()):
        kind = (
            "a device file"
            if member.ischr() or member.isblk()
            else "neither a file nor a directory"
        )
        return f"{shown} is {kind}"
    return None


def extract_tar_gz(
    archive: Path,
    destination: Path,
    *,
    max_bytes: int = MAX_EXTRACTED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> Path:
    """Extract ``archive`` (tar, gzip-, bzip2- or xz-compressed) into ``destination``.

    Every member is checked before anything is written: only files and directories, relative
    paths without ``..``, at most ``max_members`` of them and ``max_bytes`` unpacked. These
    checks do not depend on the interpreter's patch level; tarfile's ``data`` filter still runs
    as a second line. Errors are one line naming the archive and the rule it broke, so a bad
    model artifact is reported as such rather than as a traceback from deep inside tarfile.
    """
    if not archive.is_file():
        raise ArchiveError(f"model archive {archive} does not exist")

    def refuse(reason: str) -> ArchiveError:
        return ArchiveError(f"unsafe model archive {archive}: {reason}")

    stream_limit = max_bytes + (max_members + 1) * _HEADER_ALLOWANCE
    try:
        with (
            _open_uncompressed(archive) as raw,
            # A file object as far as tarfile's reading goes (it never writes or closes one
            # that it did not open).
            tarfile.open(
                fileobj=cast(IO[bytes], _Bounded(raw, stream_limit, refuse)), mode="r:"
            ) as tar,
        ):
            members: list[tarfile.TarInfo] = []
            total = 0
            for member in tar:
                problem = _member_problem(member)
                if problem:
                    raise refuse(problem)
                members.append(member)
                total += member.size
                if len(members) > max_members:
                    raise refuse(f"it has more than {max_members} members, the limit")
                if total > max_bytes:
                    raise refuse(f"it unpacks to more than {max_bytes} bytes, the limit")
            destination.mkdir(parents=True, exist_ok=True)
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError) as exc:
        raise ArchiveError(f"cannot read model archive {archive}: {exc}") from exc
    return destination
