"""Local files to the environment's buckets, under content-addressed keys, with a progress bar.

Keys carry a hash of the content, so uploading the same data twice is a no-op (and a changed
file never overwrites what a running job reads). Objects are written with the environment's
KMS key, the same key the buckets use by default.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from sagestack.progress import transfer_progress

if TYPE_CHECKING:
    from sagestack.sdk.platform import Platform


def local_files(path: Path) -> list[tuple[str, Path]]:
    """(relative key, file) for a file or every file under a directory, in key order.

    Hidden files and ``__pycache__`` are left out; ``_SUCCESS``-style markers are kept (the
    containers skip them, and data pipelines rely on them).
    """
    if path.is_file():
        return [(path.name, path)]
    if not path.is_dir():
        raise FileNotFoundError(f"{path} does not exist")
    found = []
    for directory, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        for name in names:
            if not name.startswith("."):
                file = Path(directory, name)
                found.append((file.relative_to(path).as_posix(), file))
    if not found:
        raise FileNotFoundError(f"{path} holds no files to upload")
    return sorted(found)


def content_digest(files: list[tuple[str, Path]]) -> str:
    sha = hashlib.sha256()
    for key, file in files:
        sha.update(key.encode() + b"\0")
        with file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                sha.update(chunk)
        sha.update(b"\0")
    return sha.hexdigest()


def _exists(s3: Any, bucket: str, key: str, size: int) -> bool:
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return int(head.get("ContentLength", -1)) == size


def upload_path(
    platform: Platform,
    path: Path,
    *,
    bucket: str,
    prefix: str,
    console: Console | None = None,
) -> str:
    """Upload ``path`` to ``s3://bucket/<prefix>/<digest>/...``; returns that prefix's URI.

    A single file keeps its name under the prefix, so the URI works as a channel's S3Prefix
    either way.
    """
    files = local_files(path)
    digest = content_digest(files)[:16]
    base = f"{prefix.strip('/')}/{digest}".lstrip("/")
    s3 = platform.client("s3")
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": platform.kms_key_arn}
    todo = [
        (key, file)
        for key, file in files
        if not _exists(s3, bucket, f"{base}/{key}", file.stat().st_size)
    ]
    total = sum(file.stat().st_size for _, file in todo)
    with transfer_progress(
        "[bold]Uploading {task.description}",
        console=console or Console(stderr=True),
        transient=True,
        disable=not todo,
    ) as progress:
        task = progress.add_task(f"{path.name} -> s3://{bucket}/{base}/", total=total)
        for key, file in todo:
            s3.upload_file(
                str(file),
                bucket,
                f"{base}/{key}",
                ExtraArgs=extra,
                Callback=lambda sent: progress.advance(task, sent),
            )
    return f"s3://{bucket}/{base}/"


def upload_file(platform: Platform, file: Path, *, bucket: str, prefix: str) -> str:
    """One file to ``s3://bucket/<prefix>/<digest>/<name>``; returns the object's URI."""
    base = upload_path(platform, file, bucket=bucket, prefix=prefix)
    return f"{base}{file.name}"
