"""Where a Create form's data comes from: an uploaded file, a previewed upload, or a location."""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import FormData, UploadFile

from sagestack.console import data, store
from sagestack.local.channels import S3Location


def has_file(form: FormData, key: str) -> bool:
    """Whether the form carries a named file in ``key``."""
    upload = form.get(key)
    return isinstance(upload, UploadFile) and bool(upload.filename)


def data_source(
    form: FormData,
    upload_field: str,
    location: str,
    errors: dict[str, str],
    error_key: str,
    max_upload_bytes: int,
    upload_id: str = "",
) -> Path | S3Location | None:
    """An uploaded file (saved to the data store), a previous upload, or a location (a local
    path, file:// or s3:// URI)."""
    upload = form.get(upload_field)
    if isinstance(upload, UploadFile) and upload.filename:
        try:
            return data.save_upload(upload.file, upload.filename, max_upload_bytes)
        except data.DataError as exc:
            errors[error_key] = str(exc)
            return None
    if upload_id:
        path = data.upload_by_id(upload_id)
        if path is not None:
            return path
    if not location.strip():
        errors[error_key] = "Upload a file or give the data's location."
        return None
    try:
        return data.resolve_location(location)
    except data.DataError as exc:
        errors[error_key] = str(exc)
        return None


def channel_source(
    form: FormData,
    values: dict[str, str],
    channel: str,
    errors: dict[str, str],
    max_upload_bytes: int,
) -> Path | S3Location | None:
    """The full form's channel: its upload, its previewed upload, or its location."""
    return data_source(
        form,
        f"{channel}_file",
        values.get(f"{channel}_location", ""),
        errors,
        channel,
        max_upload_bytes,
        values.get(f"{channel}_upload_id", ""),
    )


def upload_id_of(source: Path | S3Location | None) -> str:
    """The id a later submit names an upload by; empty for data that is not an upload."""
    if isinstance(source, Path) and source.is_relative_to(store.data_dir() / "uploads"):
        return data.upload_id(source)
    return ""
