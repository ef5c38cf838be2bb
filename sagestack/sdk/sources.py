"""``S3DataSource``: where a channel's data or a model's artifacts are (s3:// or file://)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

DISTRIBUTIONS = ("FullyReplicated", "ShardedByS3Key")
MODEL_CONTENT_TYPE = "application/gzip"
"""The content type given to the S3DataSource of a model.tar.gz."""

# S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, starting and ending
# with a letter or digit (dots are allowed but not next to each other or in an IP address).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.*)?$")
# Bare format names that train.py takes as a channel's ContentType beside the media types
# (CONTENT_TYPE_FORMATS in training/sm_constants.py, as the built-in XGBoost algorithm does).
SHORT_CONTENT_TYPES = ("csv", "libsvm", "parquet")


def _fail(field: str, value: object, expected: str) -> None:
    raise ValueError(f"S3DataSource.{field} = {value!r}: {expected}")


@dataclass(frozen=True)
class S3DataSource:
    """A channel's data (or a model.tar.gz): an ``s3://bucket/key`` URI or a ``file://`` path.

    uri: ``s3://bucket/prefix`` (a prefix matches every object under it, as SageMaker's
        S3Prefix does) or ``file:///absolute/path`` for local data; ``S3DataSource.local()``
        builds the latter from a path.
    content_type: the channel's ContentType; default ``text/csv`` (label first, no header).
    distribution: ``FullyReplicated`` (every instance gets all the data, the default) or
        ``ShardedByS3Key`` (each instance gets a share of the files).
    """

    uri: str
    content_type: str = "text/csv"
    distribution: str = "FullyReplicated"

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str):
            _fail("uri", self.uri, "a string such as 's3://bucket/prefix' or 'file:///path'")
        parsed = urlparse(self.uri)
        if parsed.scheme == "s3":
            bucket = parsed.netloc
            if not _BUCKET.match(bucket) or ".." in bucket or _IP_ADDRESS.match(bucket):
                _fail(
                    "uri",
                    self.uri,
                    f"{bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, "
                    "dots or hyphens); expected s3://bucket/key",
                )
            if parsed.query or parsed.fragment:
                _fail("uri", self.uri, "an S3 URI has no ?query or #fragment")
        elif parsed.scheme == "file":
            if parsed.netloc not in ("", "localhost") or not parsed.path.startswith("/"):
                _fail("uri", self.uri, "a file:// URI with an absolute path, e.g. file:///data")
        else:
            _fail(
                "uri",
                self.uri,
                "expected s3://bucket/key or file:///absolute/path "
                "(use S3DataSource.local(path) for a local path)",
            )
        if not isinstance(self.content_type, str) or not (
            _MEDIA_TYPE.match(self.content_type) or self.content_type.lower() in SHORT_CONTENT_TYPES
        ):
            _fail(
                "content_type",
                self.content_type,
                f"a media type such as 'text/csv', or one of {', '.join(SHORT_CONTENT_TYPES)}",
            )
        if self.distribution not in DISTRIBUTIONS:
            _fail("distribution", self.distribution, f"one of {', '.join(DISTRIBUTIONS)}")

    @classmethod
    def local(
        cls,
        path: str | Path,
        content_type: str = "text/csv",
        distribution: str = "FullyReplicated",
    ) -> S3DataSource:
        """A source for a local file or directory (made absolute)."""
        absolute = Path(path).expanduser().resolve()
        return cls(f"file://{quote(str(absolute))}", content_type, distribution)

    @property
    def is_local(self) -> bool:
        return self.uri.startswith("file:")

    @property
    def path(self) -> Path:
        """The local path of a ``file://`` source."""
        if not self.is_local:
            raise ValueError(f"{self.uri} is not a local (file://) source")
        return Path(unquote(urlparse(self.uri).path))

    @property
    def bucket(self) -> str:
        if self.is_local:
            raise ValueError(f"{self.uri} is a local source, not S3")
        return urlparse(self.uri).netloc

    @property
    def key(self) -> str:
        """The object key or key prefix (no leading slash)."""
        if self.is_local:
            raise ValueError(f"{self.uri} is a local source, not S3")
        return urlparse(self.uri).path.lstrip("/")

    def __str__(self) -> str:
        return self.uri
