"""Deterministic archives: same tree, same bytes; files at the root; safe extraction."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from sagestack.local.archive import ArchiveError, create_tar_gz, extract_tar_gz


def _tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "xgboost-model").write_bytes(b"\x00model")
    (root / "sub" / "b.txt").write_text("b")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    (root / "a.pyc").write_bytes(b"junk")
    return root


def test_same_tree_gives_the_same_bytes(tmp_path: Path) -> None:
    src = _tree(tmp_path / "src")
    first = create_tar_gz(src, tmp_path / "one.tar.gz").read_bytes()
    os.utime(src / "xgboost-model", (1, 1))  # a new mtime must not change the archive
    second = create_tar_gz(src, tmp_path / "two.tar.gz").read_bytes()
    assert first == second


def test_entries_sit_at_the_root_sorted_without_bytecode(tmp_path: Path) -> None:
    archive = create_tar_gz(_tree(tmp_path / "src"), tmp_path / "model.tar.gz")
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["sub", "sub/b.txt", "xgboost-model"]
    assert {m.mtime for m in members} == {946684800}
    assert {(m.uid, m.gid, m.uname) for m in members} == {(0, 0, "")}


def test_extraction_round_trips(tmp_path: Path) -> None:
    archive = create_tar_gz(_tree(tmp_path / "src"), tmp_path / "model.tar.gz")
    out = extract_tar_gz(archive, tmp_path / "out")
    assert (out / "xgboost-model").read_bytes() == b"\x00model"


def test_fails_on_a_corrupt_archive_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"definitely not gzip")
    with pytest.raises(ArchiveError, match=r"cannot read model archive .*model.tar.gz"):
        extract_tar_gz(bad, tmp_path / "out")


def test_an_archive_of_dot_slash_entries_extracts(tmp_path: Path) -> None:
    """What ``tar -czf model.tar.gz -C dir .`` makes: a ``.`` directory, ``./`` names."""
    archive = _crafted(
        tmp_path / "model.tar.gz", [_dir("."), _file("./xgboost-model"), _file("./code/x.py")]
    )
    out = extract_tar_gz(archive, tmp_path / "out")
    assert (out / "xgboost-model").read_bytes() == b"x" and (out / "code" / "x.py").is_file()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    return info, None


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _crafted(path: Path, members: list, **tar_options: object) -> Path:
    with tarfile.open(path, "w:gz", **tar_options) as tar:  # type: ignore[call-overload]
        for info, data in members:
            tar.addfile(info, data)
    return path


def _cve_2025_4517(outside: str) -> list:
    """The published pattern: symlinks through directory names so long that realpath() gives
    up (PATH_MAX), so tarfile's ``data`` filter judges a link inside the destination that the
    kernel resolves to its parent; a file is then written through it. Python 3.11.7's filter
    lets this through (checked: it wrote the file)."""
    long_dir, steps, prefix, members = "d" * 247, "abcdefghijklmnop", "", []
    for step in steps:
        members += [_dir(f"{prefix}{long_dir}"), _link(f"{prefix}{step}", long_dir)]
        prefix += long_dir + "/"
    link = "/".join(steps) + "/" + "l" * 254
    members += [_link(link, "../" * len(steps)), _link("escape", link + "/..")]
    return [*members, _file(f"escape/{outside}", b"escaped")]


class _Zeros(io.RawIOBase):
    """``size`` zero bytes, produced as read: a bomb's content never touches the disk."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _bomb(size: int) -> tuple[tarfile.TarInfo, io.BufferedReader]:
    info = tarfile.TarInfo("xgboost-model")
    info.size = size
    return info, io.BufferedReader(_Zeros(size))


_ETC = "'xgboost-model' is a {} link \\(to '/etc/passwd'\\)$"
UNSAFE = {
    # kind: (members, the one-line reason)
    "cve-2025-4517": (_cve_2025_4517("outside.txt"), r"'a' is a symbolic link"),
    "symlink": ([_link("xgboost-model", "/etc/passwd")], _ETC.format("symbolic")),
    "symlink-inside": ([_file("a"), _link("b", "a")], r"'b' is a symbolic link"),
    "hardlink": ([_link("xgboost-model", "/etc/passwd", tarfile.LNKTYPE)], _ETC.format("hard")),
    "hardlink-inside": ([_file("a"), _link("b", "a", tarfile.LNKTYPE)], r"'b' is a hard link"),
    "dot-dot": (
        [_file("code/../../outside.txt")],
        r"'code/\.\./\.\./outside.txt' climbs out of the destination with '\.\.'",
    ),
    "absolute": (
        [_file("/tmp/sagestack-abs.txt")],
        r"'/tmp/sagestack-abs.txt' is an absolute path",
    ),
    "device": ([_link("null", "", tarfile.CHRTYPE)], r"'null' is a device file"),
    "fifo": ([_link("pipe", "", tarfile.FIFOTYPE)], r"'pipe' is neither a file nor a directory"),
}


@pytest.mark.parametrize("kind", sorted(UNSAFE))
def test_fails_on_an_unsafe_member_before_writing_anything(kind: str, tmp_path: Path) -> None:
    members, reason = UNSAFE[kind]
    archive = _crafted(tmp_path / "evil.tar.gz", members)
    with pytest.raises(ArchiveError, match=rf"^unsafe model archive .*evil.tar.gz: {reason}"):
        extract_tar_gz(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar.gz"]


def test_fails_on_more_members_than_the_limit(tmp_path: Path) -> None:
    archive = _crafted(tmp_path / "many.tar.gz", [_file(f"f{i}") for i in range(6)])
    with pytest.raises(ArchiveError, match=r"it has more than 5 members, the limit$"):
        extract_tar_gz(archive, tmp_path / "out", max_members=5)
    assert extract_tar_gz(archive, tmp_path / "out", max_members=6) == tmp_path / "out"


def test_fails_on_a_gzip_bomb_without_unpacking_it(tmp_path: Path) -> None:
    archive = _crafted(tmp_path / "bomb.tar.gz", [_bomb(64 * 1024 * 1024)])
    assert archive.stat().st_size < 200 * 1024  # 64 MiB of zeros, compressed
    with pytest.raises(ArchiveError, match=r"it unpacks to more than 1048576 bytes, the limit$"):
        extract_tar_gz(archive, tmp_path / "out", max_bytes=1024 * 1024)
    assert not (tmp_path / "out").exists()


def test_fails_on_a_bomb_hidden_in_tar_headers(tmp_path: Path) -> None:
    """PAX records are read whole before any member is seen, so they count towards the cap."""
    padded = []
    for i in range(3):
        info, data = _file(f"f{i}")
        info.pax_headers = {"comment": "x" * 600_000}
        padded.append((info, data))
    archive = _crafted(tmp_path / "headers.tar.gz", padded, format=tarfile.PAX_FORMAT)
    with pytest.raises(
        ArchiveError, match=r"its files and tar headers unpack to more than \d+ bytes$"
    ):
        extract_tar_gz(archive, tmp_path / "out", max_bytes=1024 * 1024, max_members=5)
    huge = _file("f")[0]
    huge.pax_headers = {"comment": "x" * 2 * 1024 * 1024}
    archive = _crafted(
        tmp_path / "header.tar.gz", [(huge, io.BytesIO(b"x"))], format=tarfile.PAX_FORMAT
    )
    with pytest.raises(ArchiveError, match=r"a tar header of \d+ bytes \(the limit is 1048576\)"):
        extract_tar_gz(archive, tmp_path / "out")
