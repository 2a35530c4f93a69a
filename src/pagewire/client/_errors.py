"""The exceptions the SDK raises, one class per family a caller handles differently.

    PagewireError                      (pagewire.errors) the root of everything pagewire raises
    ├── PagewireAPIError               status, code, message, details, request_id
    │   ├── BadRequestError            400, 413, 415, 422: fix the request before retrying
    │   ├── AuthenticationError        401: missing, unknown or revoked API key
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404: missing, or another organization's
    │   ├── ConflictError              409: idempotency key reused with another body, bad state
    │   ├── RateLimitError             429: retry_after seconds
    │   ├── APIStatusError             5xx and any status the API does not document
    │   └── APIConnectionError         no response at all (refused, reset, DNS); status is None
    │       └── APITimeoutError        the request timed out
    ├── WaitTimeoutError               jobs.wait() gave up before the job finished (a TimeoutError)
    └── WebhookVerificationError       (pagewire.kernel.signing) a webhook that does not verify

429, 5xx, connection errors and timeouts are retried by the client before they
reach the caller; the others never are, because retrying cannot fix them.
"""

from __future__ import annotations

from typing import Any

import httpx

from pagewire.kernel.errors import PagewireError
from pagewire.kernel.signing import WebhookVerificationError

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "NotFoundError",
    "PagewireAPIError",
    "PermissionDeniedError",
    "RateLimitError",
    "WaitTimeoutError",
    "WebhookVerificationError",
    "error_from_response",
]


class PagewireAPIError(PagewireError):
    """A call to the pagewire API that did not succeed.

    ``status`` is the HTTP status (None when no response arrived); ``code``,
    ``message`` and ``details`` come from the API's error body.
    """

    code = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status is not None else ""
        return f"{prefix}{self.code}: {self.message}"


class BadRequestError(PagewireAPIError):
    code = "invalid_request"


class AuthenticationError(PagewireAPIError):
    code = "unauthenticated"


class PermissionDeniedError(PagewireAPIError):
    code = "forbidden"


class NotFoundError(PagewireAPIError):
    code = "not_found"


class ConflictError(PagewireAPIError):
    code = "conflict"


class RateLimitError(PagewireAPIError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class APIStatusError(PagewireAPIError):
    code = "server_error"


class APIConnectionError(PagewireAPIError):
    code = "connection_error"


class APITimeoutError(APIConnectionError):
    code = "timeout"


class WaitTimeoutError(PagewireError, TimeoutError):
    """``jobs.wait`` ran out of time; ``job`` is the last state seen (it is still running)."""

    code = "wait_timeout"

    def __init__(self, job: Any, timeout: float) -> None:
        super().__init__(
            f"job {job.job_id} is still {job.status} after {timeout:g} s",
            details={"job_id": job.job_id, "status": job.status},
        )
        self.job = job
        self.timeout = timeout


_BY_STATUS: dict[int, type[PagewireAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: BadRequestError,
    415: BadRequestError,
    422: BadRequestError,
    429: RateLimitError,
}


def error_from_response(response: httpx.Response, retry_after: float | None) -> PagewireAPIError:
    """The exception for a non-2xx response, read from the ``{"error": ...}`` body."""
    status = response.status_code
    code, message, details = None, None, None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
        details = error.get("details") if isinstance(error.get("details"), dict) else None
    if message is None:
        text = response.text.strip()[:200] if _is_text(response) else ""
        message = text or f"HTTP {status} {response.reason_phrase}".strip()
    cls = _BY_STATUS.get(status, APIStatusError)
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "details": details,
        "request_id": response.headers.get("x-request-id"),
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


def _is_text(response: httpx.Response) -> bool:
    content_type: str = response.headers.get("content-type", "")
    return content_type.startswith(("text/", "application/json"))
