"""The byte-transfer progress bar shared by S3 downloads (local s3:// channels) and uploads
(the SDK's content-addressed uploads): one look for both directions."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


def transfer_progress(label: str, **options: Any) -> Progress:
    """A rich Progress with ``label`` (a TextColumn format) then bar, bytes, speed and time
    left; ``options`` (console, transient, disable) go to Progress as they are."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        **options,
    )
