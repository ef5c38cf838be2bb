"""Content negotiation: Content-Type and Accept headers to the formats we read and write.

RequestError lives here because negotiation is where a request first turns out to be the
client's mistake (415, 406); decoders raises it too (400, 413), and transform_fn answers it.
"""

from __future__ import annotations

import os

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"
LIBSVM = "text/libsvm"
_CONTENT_TYPES = {
    "text/csv": CSV,
    "application/json": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
    "text/libsvm": LIBSVM,
    "text/x-libsvm": LIBSVM,
}
_ACCEPTS = {
    "text/csv": CSV,
    "text/*": CSV,
    "application/json": JSON,
    "application/*": JSON,
    "application/jsonlines": JSONLINES,
    "application/x-jsonlines": JSONLINES,
    "application/json-lines": JSONLINES,
}
# The container substitutes this for a missing Accept or */*; we do the same for direct calls.
_env_accept = (os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or JSON).split(";")[0]
DEFAULT_ACCEPT = _ACCEPTS.get(_env_accept.strip().lower(), JSON)


class RequestError(Exception):
    """A client mistake: becomes an HTTP 4xx with the message as the body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def media_type(header: str | None) -> str:
    """`Text/CSV; charset=utf-8` -> `text/csv`."""
    return (header or "").split(";", 1)[0].strip().lower()


def request_format(content_type: str | None) -> str:
    """Our name for the body's format; a missing Content-Type is JSON, as in the container."""
    # Script mode in the XGBoost image serves through sagemaker-containers, whose
    # _worker.Request.content_type is the ContentType or Content-Type header, else
    # application/json (sagemaker_containers/_worker.py, 2.8.6.post2), so the hooks never see
    # a missing one. text/csv is the default of the image's algorithm mode only (no user script).
    base = media_type(content_type) or JSON
    try:
        return _CONTENT_TYPES[base]
    except KeyError:
        raise RequestError(
            415,
            f"Unsupported Content-Type {content_type!r}; send one of text/csv, application/json, "
            "application/jsonlines, text/libsvm",
        ) from None


def response_format(accept: str | None) -> str:
    """First supported media range of the Accept header, in the order given (q ignored)."""
    if not accept or not accept.strip():
        return DEFAULT_ACCEPT
    for part in accept.split(","):
        base = media_type(part)
        if base == "*/*":
            return DEFAULT_ACCEPT
        if base in _ACCEPTS:
            return _ACCEPTS[base]
    raise RequestError(
        406,
        f"Unsupported Accept {accept!r}; accept one of text/csv, application/json, "
        "application/jsonlines",
    )
