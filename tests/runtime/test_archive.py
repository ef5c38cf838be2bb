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


def test_fails_on_an_entry_escaping_the_destination(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ArchiveError):
        extract_tar_gz(evil, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
