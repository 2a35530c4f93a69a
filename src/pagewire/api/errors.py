"""The one place where errors become HTTP: ``{"error": {"code", "message", "details", "request_id"}}``.

``request_id`` is the ``x-request-id`` of the response (:mod:`pagewire.telemetry.http`):
what a user quotes in a support request, and what finds the request's log lines.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from pagewire import errors
from pagewire.telemetry.logs import current_request_id

log = logging.getLogger("pagewire.api")

STATUS: dict[type[errors.PagewireError], int] = {
    errors.InvalidRequest: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.RateLimited: 429,
    errors.StoreUnavailable: 503,
    errors.BlobStoreUnavailable: 503,
}
# What a client is told to wait before retrying while the blob store is unreachable.
BLOB_STORE_RETRY_AFTER = 5


class ErrorInfo(BaseModel):
    code: str = Field(description="stable, for programs: `not_found`, `file_too_large`...")
    message: str = Field(description="for people: what went wrong and what to do")
    details: dict[str, Any] = Field(description="facts about the error: a field, an index...")
    request_id: str | None = Field(
        None, description="the request's id (also its `x-request-id` header): quote it to support"
    )


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


# What each error status means on this API, as the OpenAPI document says it.
_MEANING = {
    400: "The request is invalid (a bad option, a missing file, a URL not allowed)",
    401: "No valid API key (x-api-key or Authorization: Bearer)",
    404: "No such resource in your organization",
    409: "Conflicts with the resource's state or with an Idempotency-Key already used",
    413: "The body or file is over the size limit",
    415: "Not a content type or file type pagewire reads",
    422: "A parameter or a JSON body does not match its schema",
    429: "Over your organization's rate limit; wait Retry-After seconds",
    503: "The database or the file store is unavailable; retry shortly",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route (or router) that may answer these error statuses."""
    return {
        status: {"model": ErrorResponse, "description": _MEANING[status]} for status in statuses
    }


def status_for(error: errors.PagewireError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    error = {"code": code, "message": message, "details": details or {}}
    rid = current_request_id()
    if rid is not None:
        error["request_id"] = rid
    return {"error": error}


def error_response(error: errors.PagewireError) -> JSONResponse:
    status = status_for(error)
    headers = {}
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(max(1, round(error.retry_after)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="pagewire"'
    if status >= 500:
        log.error("request failed", extra={"fields": {"code": error.code, "error": error.message}})
    if isinstance(error, errors.BlobStoreUnavailable):
        # The message names buckets, endpoints and settings: for the operator's log only.
        headers["Retry-After"] = str(BLOB_STORE_RETRY_AFTER)
        message = "the file store is unavailable; try again shortly"
        return JSONResponse(error_body(error.code, message), status, headers)
    return JSONResponse(error_body(error.code, error.message, error.details), status, headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.PagewireError)
    async def _pagewire(_: Request, error: errors.PagewireError) -> JSONResponse:
        return error_response(error)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": e.get("msg"),
            }
            for e in error.errors()
        ]
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        message = (
            f"{first['field']}: {first['message']}" if first["field"] else str(first["message"])
        )
        return JSONResponse(error_body("invalid_request", message, {"problems": problems}), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(error_body(code, str(error.detail)), error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        # Answered outside the request-id middleware: the header is added here.
        log.exception("unhandled error")
        rid = current_request_id()
        headers = {"x-request-id": rid} if rid is not None else None
        body = error_body("internal_error", "pagewire hit an unexpected error")
        return JSONResponse(body, 500, headers)
