"""Deterministic .tar.gz assets: same inputs, byte-identical archive and template."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import struct
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from aws_cdk import App, CfnOutput, Stack

from stacks.constructs.source_asset import (
    FIXED_MTIME,
    SourceAsset,
    SourceAssetProps,
    archive_bytes,
    build_tarball,
    write_tarball,
)
from stacks.constructs.training.construct import code_asset_props


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "training"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "pkg" / "util.py").write_text("X = 1\n")
    (root / "pkg" / "__pycache__" / "util.cpython-311.pyc").write_bytes(b"\0compiled")
    (root / "stale.pyc").write_bytes(b"\0")
    (root / ".DS_Store").write_bytes(b"\0")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "secret.txt").write_text("no")
    return root


def test_archive_is_byte_identical_across_builds_and_mtimes(source: Path) -> None:
    first = build_tarball(source)
    for path in source.rglob("*"):
        path.touch()  # new mtimes must not matter
    assert build_tarball(source) == first


def test_archive_entries_are_sorted_normalized_and_filtered(source: Path) -> None:
    data = build_tarball(source)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["pkg/util.py", "train.py"]
        for m in members:
            assert (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (
                FIXED_MTIME,
                0,
                0,
                "",
                "",
                0o644,
            )
            assert m.isreg()
        assert tar.extractfile("train.py").read() == b"print('train')\n"  # type: ignore[union-attr]
    # gzip header: no file name flag, fixed mtime (RFC 1952: FLG at byte 3, MTIME at 4..8).
    assert data[3] & 0x08 == 0
    assert struct.unpack("<I", data[4:8])[0] == FIXED_MTIME
    assert gzip.decompress(data)


def test_content_change_changes_the_archive(source: Path) -> None:
    before = build_tarball(source)
    (source / "train.py").write_text("print('changed')\n")
    assert build_tarball(source) != before


def test_written_archive_is_keyed_by_content_hash(source: Path, tmp_path: Path) -> None:
    path = write_tarball(source, tmp_path / "build")
    assert path.name == "training.tar.gz"
    assert path.parent.name == hashlib.sha256(path.read_bytes()).hexdigest()
    assert write_tarball(source, tmp_path / "build") == path


def _synth(source: Path, build_dir: Path, outdir: Path) -> tuple[str, bytes]:
    app = App(outdir=str(outdir))
    stack = Stack(app, "S")
    asset = SourceAsset(
        stack, "Code", props=SourceAssetProps(source_dir=source, build_dir=build_dir)
    )
    CfnOutput(stack, "Uri", value=asset.s3_uri)
    assembly = app.synth()
    template = json.dumps(assembly.get_stack_by_name("S").template, sort_keys=True)
    staged = next(Path(assembly.directory).glob("asset.*"))
    return template, staged.read_bytes()


def test_same_inputs_give_identical_template_and_asset(source: Path, tmp_path: Path) -> None:
    first = _synth(source, tmp_path / "b1", tmp_path / "o1")
    second = _synth(source, tmp_path / "b2", tmp_path / "o2")
    assert first == second
    assert first[1] == build_tarball(source)


def test_fails_on_missing_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="source_dir must be an existing directory"):
        build_tarball(tmp_path / "nope")
    (tmp_path / "empty" / "__pycache__").mkdir(parents=True)
    with pytest.raises(ValueError, match="contains no files to package"):
        build_tarball(tmp_path / "empty")


def test_extra_directories_ride_along_under_their_name(source: Path, tmp_path: Path) -> None:
    serving = tmp_path / "inference"
    (serving / "__pycache__").mkdir(parents=True)
    (serving / "inference.py").write_text("def model_fn(d): ...\n")
    (serving / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\0")
    data = build_tarball(source, extra_dirs={"inference": serving})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = [m.name for m in tar.getmembers()]
    assert names == ["inference/inference.py", "pkg/util.py", "train.py"]
    assert build_tarball(source, extra_dirs={"inference": serving}) == data


def test_extra_directories_must_exist_and_not_collide(source: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"extra_dirs\['inference'\] must be an existing"):
        build_tarball(source, extra_dirs={"inference": tmp_path / "nope"})
    other = tmp_path / "other"
    other.mkdir()
    (other / "util.py").write_text("Y = 2\n")
    with pytest.raises(ValueError, match="collide with files of"):
        build_tarball(source, extra_dirs={"pkg": other})
    for bad in ("", "..", "../x", "/abs", "a/b"):
        with pytest.raises(ValueError, match="keys must be plain directory names"):
            build_tarball(source, extra_dirs={bad: other})


def test_extra_files_ride_along_at_their_path(source: Path, tmp_path: Path) -> None:
    module = tmp_path / "mod.py"
    module.write_text("Z = 3\n")
    data = build_tarball(source, extra_files={"lib/mod.py": module})
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert [m.name for m in tar.getmembers()] == ["lib/mod.py", "pkg/util.py", "train.py"]
    with pytest.raises(ValueError, match="collide with files of"):
        build_tarball(source, extra_files={"pkg/util.py": module})
    with pytest.raises(ValueError, match=r"extra_files\['x.py'\] must be an existing file"):
        build_tarball(source, extra_files={"x.py": tmp_path / "nope.py"})
    for bad in ("", "../x.py", "/abs.py", "a//b.py"):
        with pytest.raises(ValueError, match="keys must be relative paths of plain names"):
            build_tarball(source, extra_files={bad: module})


def test_the_training_code_imports_the_contract_with_nothing_else_installed(
    tmp_path: Path,
) -> None:
    # The Training stack's archive, unpacked as /opt/ml/code: its scripts import
    # sagestack.contract from the archive alone (-E -s -S: no site-packages, no PYTHONPATH).
    repo = Path(__file__).resolve().parents[2]
    archive = archive_bytes(code_asset_props(repo / "training", repo / "inference"))
    code = tmp_path / "code"
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        names = tar.getnames()
        tar.extractall(code, filter="data")
    assert "sagestack/__init__.py" in names and "sagestack/contract/metrics.py" in names
    others = [n for n in names if n.startswith("sagestack/") and "/contract/" not in n]
    assert others == ["sagestack/__init__.py"]
    script = (
        "import sagestack, sm_constants, hyperparams\n"
        "from sagestack.contract import discovery, hyperparameters, launch, metrics, paths\n"
        "from sagestack.contract import patterns, prefixes\n"
        f"assert sagestack.__file__.startswith({str(code)!r}), sagestack.__file__\n"
        "assert sm_constants.DEFAULT_MODEL_DIR == paths.MODEL_DIR\n"
    )
    subprocess.run([sys.executable, "-E", "-s", "-S", "-c", script], cwd=code, check=True)
