"""What the sync and async clients share: settings, headers, uploads, error mapping.

Everything here is free of I/O (the documents to upload are in ``_upload``).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import httpx

from pagewire import __version__
from pagewire.client._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    PagewireAPIError,
    error_from_response,
)
from pagewire.client._models import Job, JobSubmission, ListPage
from pagewire.client._retry import RetryPolicy
from pagewire.client._upload import Document, FileInput, Upload
from pagewire.kernel.retry_after import parse_retry_after

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
USER_AGENT = f"pagewire-python/{__version__}"

T = TypeVar("T")


@dataclass(frozen=True)
class ClientConfig:
    """Resolved once when a client is built; the environment is read only here."""

    api_key: str | None
    base_url: str
    timeout: httpx.Timeout
    retry: RetryPolicy
    wall_clock: Callable[[], float]

    @classmethod
    def resolve(
        cls,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float | httpx.Timeout,
        max_retries: int,
        retry: RetryPolicy | None,
        wall_clock: Callable[[], float] | None,
        environ: Mapping[str, str] | None = None,
    ) -> ClientConfig:
        env = os.environ if environ is None else environ
        return cls(
            api_key=api_key or env.get("PAGEWIRE_API_KEY") or None,
            base_url=(base_url or env.get("PAGEWIRE_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            timeout=timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            retry=retry or RetryPolicy(max_retries=max_retries),
            wall_clock=wall_clock or time.time,
        )

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def headers(self, method: str, idempotency_key: str | None) -> dict[str, str]:
        if not self.api_key:
            raise AuthenticationError(
                "no API key: pass api_key= to the client or set PAGEWIRE_API_KEY",
                code="missing_api_key",
            )
        headers = {
            "x-api-key": self.api_key,
            "user-agent": USER_AGENT,
            "accept": "application/json",
        }
        if method == "POST":
            # One key per logical call, reused by every retry of it, so that a retry
            # after a lost response returns the first job instead of making a second.
            headers["idempotency-key"] = idempotency_key or f"pw-{uuid.uuid4()}"
        return headers


def retry_after_seconds(response: httpx.Response, now: float) -> float | None:
    return parse_retry_after(response.headers.get("retry-after"), now)


def failure_from_response(
    response: httpx.Response, now: float
) -> tuple[PagewireAPIError, float | None]:
    retry_after = retry_after_seconds(response, now)
    return error_from_response(response, retry_after), retry_after


def failure_from_transport(error: httpx.TransportError, base_url: str) -> PagewireAPIError:
    """httpx's errors become ours here, so callers never catch httpx."""
    if isinstance(error, httpx.TimeoutException):
        return APITimeoutError(f"the request to {base_url} timed out ({type(error).__name__})")
    reason = str(error) or type(error).__name__
    return APIConnectionError(f"could not reach pagewire at {base_url}: {reason}")


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise PagewireAPIError(
            "the API answered with a body that is not JSON",
            status=response.status_code,
            code="invalid_response",
        ) from None


def query_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The query string's values, leaving out those not given (None)."""
    if params is None:
        return None
    return {k: v for k, v in params.items() if v is not None}


def time_param(value: datetime | str | float | None) -> str | None:
    """A time filter as the API reads it: ISO 8601 for a datetime, else as given."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def list_page(response: httpx.Response, item: Callable[[dict[str, Any]], T]) -> ListPage[T]:
    """One page of a list endpoint: ``{"data": [...], "next_cursor": ...}``."""
    body = json_body(response)
    return ListPage(
        [item(entry) for entry in body.get("data", [])],
        body.get("next_cursor"),
        request_id=request_id(response),
    )


def extract_fields(
    *,
    async_: bool,
    pages: str | None,
    metadata: Mapping[str, Any] | None,
    chunking: str | list[str] | None,
    chunk_size: int | None,
    tables: bool | None,
    ocr: str | None,
    return_html: bool | None,
    priority: int | None,
) -> dict[str, Any]:
    """The options of ``POST /extract`` that were given, as the API names them."""
    fields: dict[str, Any] = {"async": async_}
    optional = {
        "pages": pages,
        "metadata": dict(metadata) if metadata is not None else None,
        "chunking": ",".join(chunking) if isinstance(chunking, list | tuple) else chunking,
        "chunk_size": chunk_size,
        "tables": tables,
        "ocr": ocr,
        "return_html": return_html,
        "priority": priority,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    return fields


def as_form(fields: Mapping[str, Any]) -> dict[str, str]:
    """Multipart form values are strings: booleans as true/false, objects as JSON."""
    form: dict[str, str] = {}
    for key, value in fields.items():
        if isinstance(value, bool):
            form[key] = "true" if value else "false"
        elif isinstance(value, dict | list):
            form[key] = json.dumps(value)
        else:
            form[key] = str(value)
    return form


def extract_request(
    file: FileInput | None,
    file_url: str | None,
    file_name: str | None,
    fields: dict[str, Any],
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The ``_request`` arguments of ``POST /extract``: multipart for a file, JSON for a URL."""
    if (file is None) == (file_url is None):
        raise ValueError("pass exactly one of file= or file_url=")
    request: dict[str, Any] = {"idempotency_key": idempotency_key}
    if file is not None:
        request.update(upload=Upload([Document(file, file_name)]), form=as_form(fields))
    else:
        request.update(json={**fields, "file_url": file_url})
    return request


def batch_request(
    files: Sequence[FileInput] | None,
    file_urls: Sequence[str] | None,
    fields: dict[str, Any],
    idempotency_key: str | None,
) -> dict[str, Any]:
    """The ``_request`` arguments of ``POST /batch/extract``."""
    if bool(files) == bool(file_urls):
        raise ValueError("pass files= or file_urls= (a non-empty list), not both")
    request: dict[str, Any] = {"idempotency_key": idempotency_key}
    if files:
        request.update(upload=Upload([Document(f) for f in files]), form=as_form(fields))
    else:
        request.update(json={**fields, "file_urls": list(file_urls or [])})
    return request


WARNINGS_HEADER = "x-pagewire-warnings"


def request_id(response: httpx.Response) -> str | None:
    """The server's ``x-request-id`` for this response (quote it in a support request)."""
    found: str | None = response.headers.get("x-request-id")
    return found


def submission_warnings(response: httpx.Response, body: Any) -> list[str]:
    """What the submission asked that was ignored: the body's ``warnings``, else the header's."""
    if isinstance(body, dict) and isinstance(body.get("warnings"), list):
        return [str(w) for w in body["warnings"]]
    header = response.headers.get(WARNINGS_HEADER)
    return [w for w in header.split("; ") if w] if header else []


def job_answer(response: httpx.Response) -> Job:
    """A job from a successful response, with the response's request id."""
    return Job.from_dict(json_body(response), request_id=request_id(response))


def batch_answer(response: httpx.Response) -> list[JobSubmission]:
    body = json_body(response)
    warnings = submission_warnings(response, body)
    return [
        JobSubmission.from_dict(job, warnings=warnings, request_id=request_id(response))
        for job in body.get("data", [])
    ]


def extract_answer(response: httpx.Response) -> Job | JobSubmission:
    """200 is the finished job (sync mode); 202 is a submission still to be waited for."""
    body = json_body(response)
    warnings = submission_warnings(response, body)
    if response.status_code == 200:
        return Job.from_dict(body, request_id=request_id(response), submission_warnings=warnings)
    replayed = response.headers.get("idempotent-replayed") == "true"
    return JobSubmission.from_dict(
        body, replayed=replayed, warnings=warnings, request_id=request_id(response)
    )
