"""s3:// channels for local jobs: list the prefix, download what changed, cache by ETag.

A local job reads S3 the way a File-mode training job does: every object under the prefix is
copied into the channel directory before the entry point starts. Objects are fetched with
boto3's default credential chain and endpoint settings (``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL`` are read by boto3 itself, so an S3-compatible store works unchanged), into
a cache under ``.sagestack/cache/s3/`` keyed by bucket, key and ETag: a rerun on unchanged data
lists the prefix and downloads nothing.

Where an object lands, relative to the channel directory, follows the SageMaker Python SDK's
local mode (``sagemaker.utils.download_folder``): an ``S3Uri`` that names one object gives that
object's base name; otherwise the key less the prefix, leading ``/`` removed. Keys ending in
``/`` (console "folders") are skipped, as there.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rich.console import Console
from rich.filesize import decimal as size_text

from sagestack import paths
from sagestack.local.channels import Channel, ChannelError, S3Location
from sagestack.progress import transfer_progress

_WORKERS = 8
_CHUNK = 1 << 20
# botocore's error codes for credentials that exist but are not accepted.
_REJECTED = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
    }
)
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "403", "Forbidden"})
_NO_BUCKET = frozenset({"NoSuchBucket"})
_SAFE_ETAG = re.compile(r"^[A-Za-z0-9-]{1,128}$")


class S3InputError(ChannelError):
    """An s3:// channel that cannot be read; ``kind`` says why: ``credentials`` (none, or
    rejected), ``access-denied``, ``not-found`` (no bucket, or nothing under the prefix),
    ``unreachable`` (no S3 endpoint answered), ``changed`` (an object changed while read) or
    ``failed`` (anything else S3 or botocore refused, with its code)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class S3Object:
    key: str
    etag: str
    size: int
    relative: str  # where it lands, relative to the channel directory (posix)


def cache_root() -> Path:
    """``.sagestack/cache/s3``: shared by every job started from this working directory."""
    return paths.default_state_dir() / "cache" / "s3"


def s3_client() -> Any:
    """boto3's S3 client as configured on this machine (profile, region, endpoint URL)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client("s3", config=Config(max_pool_connections=_WORKERS + 2))


def _relative(location: S3Location, key: str) -> str:
    """Where ``key`` lands under the channel directory; refuses keys that would escape it."""
    if key == location.prefix:
        rel = PurePosixPath(key).name
    else:
        rel = key[len(location.prefix) :].lstrip("/")
    parts = PurePosixPath(rel).parts
    if not rel or any(part in ("..", ".") for part in parts):
        raise S3InputError(
            "not-found", f"s3://{location.bucket}/{key}: this key has no safe local file name"
        )
    return rel


def _explain(location: S3Location, error: Exception, action: str) -> S3InputError:
    """One line for what went wrong, naming the URI and what fixes it."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = location.uri
    if isinstance(error, (NoCredentialsError, PartialCredentialsError)):
        return S3InputError(
            "credentials",
            f"{where}: no AWS credentials found to read it; configure them (`aws configure`, "
            "AWS_PROFILE or `aws sso login`) or copy the data here and pass a local path",
        )
    if isinstance(error, EndpointConnectionError):
        return S3InputError(
            "unreachable",
            f"{where}: cannot reach S3 ({error}); check the network, or AWS_ENDPOINT_URL_S3 "
            "for an S3-compatible store",
        )
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        message = str(error.response.get("Error", {}).get("Message", "")) or code
        if code in _NO_BUCKET:
            return S3InputError("not-found", f"{where}: bucket {location.bucket!r} does not exist")
        if code in _REJECTED:
            return S3InputError(
                "credentials",
                f"{where}: AWS rejected the credentials ({code}); refresh them and retry",
            )
        if code in _DENIED:
            return S3InputError(
                "access-denied",
                f"{where}: access denied to {action} ({message}); the credentials in use need "
                "s3:ListBucket on the bucket, s3:GetObject on the keys (and kms:Decrypt for "
                "KMS-encrypted objects)",
            )
        if code in ("PreconditionFailed", "412"):
            return S3InputError(
                "changed", f"{where}: an object changed while it was downloaded; run again"
            )
        return S3InputError("failed", f"{where}: {action} failed ({code}: {message})")
    return S3InputError("failed", f"{where}: {action} failed ({error})")


def list_objects(location: S3Location, client: Any | None = None) -> list[S3Object]:
    """Every object under the prefix, in key order (the order ListObjectsV2 returns: UTF-8
    binary); an error that says why when there are none or they cannot be listed."""
    from botocore.exceptions import BotoCoreError, ClientError

    client = client or s3_client()
    found: list[S3Object] = []
    try:
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=location.bucket, Prefix=location.prefix
        )
        for page in pages:
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith("/"):
                    continue
                etag = str(item.get("ETag", "")).strip('"')
                rel = _relative(location, key)
                found.append(S3Object(key, etag, int(item.get("Size", 0)), rel))
    except (BotoCoreError, ClientError) as error:
        raise _explain(location, error, "list it (ListObjectsV2)") from None
    if not found:
        raise S3InputError(
            "not-found", f"{location.uri}: no objects under this prefix (an empty prefix)"
        )
    return sorted(found, key=lambda o: o.key.encode())


def cached_path(root: Path, bucket: str, obj: S3Object) -> Path:
    """``<root>/<bucket>/<sha256(key)>/<etag>/<the key's base name>``: one directory per key,
    so a changed object replaces its old copy rather than piling up beside it, and the file
    keeps its name (and extension) for whoever opens it."""
    digest = hashlib.sha256(obj.key.encode()).hexdigest()
    etag = obj.etag if _SAFE_ETAG.match(obj.etag) else hashlib.sha256(obj.etag.encode()).hexdigest()
    return root / bucket / digest / (etag or "no-etag") / PurePosixPath(obj.key).name


@dataclass
class FetchResult:
    """What :func:`fetch` did: ``files`` are (relative path, cached file) in key order."""

    location: S3Location
    files: list[tuple[str, Path]]
    downloaded: int
    cached: int


def _download(
    client: Any, bucket: str, obj: S3Object, target: Path, advance: Callable[[int], None]
) -> None:
    """GetObject with ``IfMatch`` on the listed ETag, so the cache never files new bytes under
    an old ETag; written beside the target and renamed, so a crash leaves no partial entry."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.part")
    kwargs: dict[str, str] = {"Bucket": bucket, "Key": obj.key}
    if obj.etag:
        kwargs["IfMatch"] = f'"{obj.etag}"'
    try:
        body = client.get_object(**kwargs)["Body"]
        with partial.open("wb") as out:
            for chunk in iter(lambda: body.read(_CHUNK), b""):
                out.write(chunk)
                advance(len(chunk))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    for stale in target.parent.parent.iterdir():  # the key's copies under older ETags
        if stale != target.parent:
            shutil.rmtree(stale, ignore_errors=True)


def fetch(
    location: S3Location,
    *,
    channel: str,
    console: Console | None = None,
    root: Path | None = None,
    client: Any | None = None,
    objects: Sequence[S3Object] | None = None,
) -> FetchResult:
    """Bring every object under ``location`` into the cache; returns where each one is.

    ``console``: where to report, a progress bar on a terminal and one plain line per file
    otherwise; None reports nothing. ``objects``: a listing already made (default: list now).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    root = root or cache_root()
    client = client or s3_client()
    listing = list(objects) if objects is not None else list_objects(location, client)
    todo = [o for o in listing if not cached_path(root, location.bucket, o).is_file()]
    total = sum(o.size for o in todo)
    live = console is not None and console.is_terminal
    progress = transfer_progress(
        "[bold]{task.fields[channel]}[/bold] {task.description}",
        console=console,
        transient=False,
    )
    task = progress.add_task(f"0/{len(todo)} objects", total=total, channel=channel)
    done = [0]
    lock = threading.Lock()

    def one(obj: S3Object) -> None:
        target = cached_path(root, location.bucket, obj)
        _download(client, location.bucket, obj, target, lambda n: progress.advance(task, n))
        with lock:
            done[0] += 1
            progress.update(task, description=f"{done[0]}/{len(todo)} objects")
        if console is not None and not live:
            console.print(
                f"{channel}: downloaded s3://{location.bucket}/{obj.key} ({size_text(obj.size)})",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )

    try:
        with (
            progress if (live and todo) else nullcontext(),
            ThreadPoolExecutor(max_workers=_WORKERS) as pool,
        ):
            for future in [pool.submit(one, o) for o in todo]:
                future.result()
    except (BotoCoreError, ClientError) as error:
        raise _explain(location, error, "download it (GetObject)") from None
    result = FetchResult(
        location,
        [(o.relative, cached_path(root, location.bucket, o)) for o in listing],
        downloaded=len(todo),
        cached=len(listing) - len(todo),
    )
    if console is not None:
        count = f"{len(listing)} object{'s' if len(listing) != 1 else ''}"
        if result.downloaded:
            outcome = f"{result.downloaded} downloaded ({size_text(total)}), {result.cached} cached"
        else:
            outcome = "0 downloaded, all unchanged since the last run: read from the cache"
        console.print(
            f"{channel}: {location.uri}: {count}, {outcome} ({root})",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    return result


def fetch_channels(
    channels: Mapping[str, Channel], console: Console | None
) -> dict[str, list[tuple[str, Path]]]:
    """Fetch every s3:// channel (one client for all); channel name -> its files."""
    remote = {n: c.source for n, c in channels.items() if isinstance(c.source, S3Location)}
    if not remote:
        return {}
    client = s3_client()
    return {
        name: fetch(location, channel=name, console=console, client=client).files
        for name, location in remote.items()
    }
