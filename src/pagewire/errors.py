"""The exception tree. Every error pagewire raises on purpose is one of these.

    PagewireError                      code, message, details
    ├── InvalidRequest                 400  bad field, bad pages range, malformed body
    │   └── UnsafeURL                  400  a URL we refuse to fetch or call (SSRF guard)
    ├── Unauthenticated                401  missing, unknown or revoked API key / portal token
    ├── Forbidden                      403  a portal session or CSRF token that does not hold
    ├── NotFound                       404  missing, or another organization's (never 403)
    │   └── BlobNotFound               404  no object under a blob key (never written, or deleted)
    ├── Conflict                       409  idempotency key reused with another body, bad state
    ├── PayloadTooLarge                413  file over the size or page limit
    ├── UnsupportedMediaType           415  a file type no engine reads
    ├── RateLimited                    429  with retry_after seconds
    ├── ExtractionFailed                    a job's document could not be read (the job's error)
    ├── FetchFailed                         a file_url download that failed (the job's error)
    ├── StoreUnavailable               503  the database cannot be reached
    └── BlobStoreUnavailable           503  the blob directory or bucket cannot be reached

The HTTP status of each family is decided in one place, ``pagewire.api.errors``.
Foreign exceptions (driver, HTTP client, pdfium) are translated at the edge
where they are caught, never left for callers to catch.
"""

from __future__ import annotations

from typing import Any

from pagewire.kernel.errors import PagewireError

__all__ = [
    "BlobNotFound",
    "BlobStoreUnavailable",
    "Conflict",
    "ExtractionFailed",
    "FetchFailed",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "PagewireError",
    "PayloadTooLarge",
    "RateLimited",
    "StoreUnavailable",
    "Unauthenticated",
    "UnsafeURL",
    "UnsupportedMediaType",
]


class InvalidRequest(PagewireError):
    code = "invalid_request"


class UnsafeURL(InvalidRequest):
    code = "url_not_allowed"


class Unauthenticated(PagewireError):
    code = "unauthenticated"


class Forbidden(PagewireError):
    code = "forbidden"


class NotFound(PagewireError):
    code = "not_found"


class BlobNotFound(NotFound):
    """Keeps ``not_found``: to a client, a result whose object is gone is simply not there."""


class Conflict(PagewireError):
    code = "conflict"


class PayloadTooLarge(PagewireError):
    code = "file_too_large"


class UnsupportedMediaType(PagewireError):
    code = "unsupported_media_type"


class RateLimited(PagewireError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ExtractionFailed(PagewireError):
    code = "extraction_failed"


class FetchFailed(PagewireError):
    code = "file_url_failed"


class StoreUnavailable(PagewireError):
    """The database cannot be reached. ``transient``: waiting may help (a refused, reset
    or timed-out connection, a server starting up or shutting down); it does not for an
    unknown role, a wrong password or a missing database, which an operator must fix."""

    code = "database_unavailable"

    def __init__(self, message: str, *, transient: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.transient = transient


class BlobStoreUnavailable(PagewireError):
    """The blob store did not answer, or refused us: not the job's fault, so a job that
    meets it is handed back rather than failed."""

    code = "blob_store_unavailable"
