"""Training input channels: where a channel's data comes from and how it is described."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]{1,64}$")  # botocore ChannelName pattern
DISTRIBUTIONS = ("FullyReplicated", "ShardedByS3Key")
INPUT_MODES = ("File", "FastFile")


class ChannelError(ValueError):
    """A channel definition that SageMaker would reject, or whose data does not exist."""


@dataclass(frozen=True)
class S3Location:
    """``s3://bucket/prefix``: every object whose key starts with ``prefix`` (S3Prefix);
    a local job downloads them (sagestack.local.s3_input)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc or parsed.query or parsed.fragment:
            raise ChannelError(f"expected s3://bucket/prefix, got {uri!r}")
        return cls(parsed.netloc, parsed.path.lstrip("/"))

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def __str__(self) -> str:
        return self.uri


@dataclass(frozen=True, kw_only=True)
class Channel:
    """One ``InputDataConfig`` entry, backed by a local file or directory or an S3 prefix.

    source: a local path (a directory's tree is copied as is, a single file lands alone in the
        channel directory, as an S3 object key prefix matching one object) or an
        :class:`S3Location`, whose objects are downloaded (cached by ETag) when the job starts.
    content_type: ``ContentType`` in inputdataconfig.json; omitted from it when None, as
        SageMaker does.
    distribution: ``S3DistributionType``; ``ShardedByS3Key`` deals the files out to hosts.
    input_mode: ``TrainingInputMode``; ``FastFile`` is laid out like ``File`` (a read-only
        mount on SageMaker; locally the files are plain copies).
    """

    source: Path | S3Location
    content_type: str | None = None
    distribution: str = "FullyReplicated"
    input_mode: str = "File"

    def __post_init__(self) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise ChannelError(
                f"distribution must be one of {DISTRIBUTIONS}, got {self.distribution!r}"
            )
        if self.input_mode not in INPUT_MODES:
            raise ChannelError(
                f"input_mode must be one of {INPUT_MODES} locally (Pipe mode is not emulated), "
                f"got {self.input_mode!r}"
            )

    def config(self) -> dict[str, str]:
        """This channel's value in inputdataconfig.json, with every key SageMaker writes."""
        entry: dict[str, str] = {}
        if self.content_type:
            entry["ContentType"] = self.content_type
        entry["TrainingInputMode"] = self.input_mode
        entry["S3DistributionType"] = self.distribution
        entry["RecordWrapperType"] = "None"
        return entry


def channel_source(uri: str | Path | S3Location) -> Path | S3Location:
    """A local path (from a path or a ``file://`` URI) or an :class:`S3Location` (s3://)."""
    if isinstance(uri, (Path, S3Location)):
        return uri
    parsed = urlparse(uri)
    if parsed.scheme == "s3":
        return S3Location.parse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ChannelError(f"file:// URI must name a local path, got {uri!r}")
        return Path(unquote(parsed.path))
    if parsed.scheme and len(parsed.scheme) > 1:  # a one-letter scheme is a Windows drive
        raise ChannelError(f"local training reads local paths, file:// or s3:// URIs, got {uri!r}")
    return Path(uri)


# ContentType by file extension, in the spelling train.py reads (CONTENT_TYPE_FORMATS in
# training/sm_constants.py).
_EXTENSION_CONTENT_TYPES = {
    ".csv": "text/csv",
    ".libsvm": "text/libsvm",
    ".svm": "text/libsvm",
    ".parquet": "application/x-parquet",
}


def content_type_from_extension(path: Path) -> str | None:
    """The ContentType a file's extension names, or, for a directory, the one its files all
    name; None when there is none or they disagree."""
    files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return content_type_from_names([p.name for p in files])


def content_type_from_names(names: list[str]) -> str | None:
    """The ContentType that the extensions of ``names`` (files or S3 keys) all name, or None."""
    kinds = {_EXTENSION_CONTENT_TYPES.get(PurePosixPath(n).suffix.lower()) for n in names}
    kinds.discard(None)
    return kinds.pop() if len(kinds) == 1 else None


def as_channel(value: Channel | str | Path, *, content_type: str | None = None) -> Channel:
    """Accept a ready Channel, or a path/URI with an optional content type."""
    if isinstance(value, Channel):
        return value
    return Channel(source=channel_source(value), content_type=content_type)


def validate_channels(channels: Mapping[str, Channel]) -> None:
    """Fail early, naming the channel, before any directory is created."""
    if not channels:
        raise ChannelError("a training job needs at least one input channel (e.g. 'train')")
    for name, channel in channels.items():
        if not _CHANNEL_NAME.match(name):
            raise ChannelError(f"channel name {name!r} does not match {_CHANNEL_NAME.pattern}")
        if isinstance(channel.source, Path) and not channel.source.exists():
            raise ChannelError(f"channel {name!r}: {channel.source} does not exist")


def local_files(source: Path) -> list[tuple[str, Path]]:
    """(path in the channel directory, file) for what a local source contributes, in S3 key
    order (code points of the posix path, the order of UTF-8 bytes)."""
    if source.is_file():
        return [(source.name, source)]
    return sorted(
        ((p.relative_to(source).as_posix(), p) for p in source.rglob("*") if p.is_file()),
        key=lambda item: item[0],
    )
