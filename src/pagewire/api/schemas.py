"""Request and response shapes at the HTTP boundary (the core passes frozen records)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pagewire.api.text_rules import check_json, check_text
from pagewire.errors import InvalidRequest
from pagewire.extract.pages import InvalidPages, PageSelection
from pagewire.kernel.timefmt import parse_time

MAX_METADATA_BYTES = 16 * 1024
CHUNKING_MODES = ("page", "header", "recursive")


class ExtractRequest(BaseModel):
    """Options of ``POST /extract``, from JSON or from multipart form fields.

    Unknown fields are ignored so that clients written for other document APIs
    keep working; they simply have no effect here.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    file_url: str | None = None
    async_: bool = Field(False, alias="async")
    pages: str | None = None
    chunking: str | list[str] | None = None
    chunk_size: int = Field(1000, ge=100, le=10_000)
    return_html: bool = False
    tables: bool = True
    ocr: Literal["auto", "force", "off"] = "auto"
    metadata: dict[str, Any] | None = None
    priority: int = Field(0, ge=-100, le=100)

    # Before pydantic's own checks, which would refuse a lone surrogate less clearly.
    @field_validator("file_url", mode="before")
    @classmethod
    def _storable_url(cls, value: Any) -> Any:
        return check_text("file_url", value) if isinstance(value, str) else value

    @field_validator("metadata", mode="before")
    @classmethod
    def _storable_metadata(cls, value: Any) -> Any:
        return check_json("metadata", value)

    @field_validator("chunking")
    @classmethod
    def _chunking(cls, value: str | list[str] | None) -> list[str] | None:
        if value is None or value == "":
            return None
        modes = value.split(",") if isinstance(value, str) else value
        modes = [m.strip() for m in modes if m.strip()]
        for mode in modes:
            if mode not in CHUNKING_MODES:
                raise ValueError(f"unknown chunking {mode!r}; use {', '.join(CHUNKING_MODES)}")
        return modes


def parse_pages(spec: str | None, max_pages: int) -> str | None:
    """``" 7, 1-3,2"`` -> ``"1-3,7"`` (merged ranges, never a list of every page);
    None or empty means every page."""
    if spec is None or not spec.strip():
        return None
    try:
        return str(PageSelection.parse(spec, max_page=max_pages))
    except InvalidPages as error:
        raise InvalidRequest(str(error), code="invalid_pages", details={"field": "pages"}) from None


def parse_time_param(value: str | float | None, name: str) -> float | None:
    """A time parameter as epoch seconds (:func:`pagewire.kernel.timefmt.parse_time`).

    A time without a zone is UTC; a blank value is no time. Anything else is a
    ``400 invalid_time`` that names the parameter.
    """
    try:
        return parse_time(value, name)
    except ValueError as error:
        raise InvalidRequest(str(error), code="invalid_time") from None


class Progress(BaseModel):
    pages_done: int
    pages_total: int | None


class JobInputOut(BaseModel):
    file_name: str | None
    file_url: str | None
    media_type: str | None
    sha256: str | None
    size: int | None
    pages: int | None = Field(description="the document's page count, once known")


class JobError(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str = Field(description="stable, for programs: `file_url_unreachable`...")
    message: str = Field(description="what happened, in words")
    detail: str | None = Field(
        None, description="the underlying library's own text, for a bug report or a search"
    )


class JobOut(BaseModel):
    job_id: str
    status: Literal["pending", "processing", "completed", "failed", "canceled", "expired"]
    created_at: str
    updated_at: str
    started_at: str | None
    finished_at: str | None
    progress: Progress
    attempts: int
    cancel_requested: bool
    metadata: dict[str, Any]
    options: dict[str, Any]
    input: JobInputOut
    result: dict[str, Any] | None = Field(
        None,
        description='the result, or {"is_url": true, "url": ..., "size": N} when too large '
        "to inline (on an S3 store the url is presigned and has an expires_at)",
    )
    error: JobError | None = None


class JobSubmitted(BaseModel):
    job_id: str
    status: str
    url: str
    warnings: list[str] = Field(
        default_factory=list,
        description="what the request asked that pagewire ignored (an unknown field...)",
    )


class JobAudit(BaseModel):
    """Who submitted a job, and how: kept with the job for as long as the job is."""

    job_id: str
    created_at: str
    key_id: str | None = Field(description="the API key that submitted it (its id, not the key)")
    ip: str | None = Field(description="the client's address as the server saw it")
    user_agent: str | None
    request_id: str | None = Field(description="the request's x-request-id")
    metadata: dict[str, Any]


class JobList(BaseModel):
    data: list[JobOut]
    next_cursor: str | None


def form_or_json_body(form: dict[str, Any], json_schema: dict[str, Any]) -> dict[str, Any]:
    """The ``openapi_extra`` of a route that takes a multipart form or a JSON object.

    Such a route reads its body itself (:func:`pagewire.api.submit.read_submission`),
    so FastAPI cannot describe it: ``form`` names the form's fields, ``json_schema``
    is the JSON body's schema.
    """
    return {
        "requestBody": {
            "content": {
                "multipart/form-data": {"schema": {"type": "object", "properties": form}},
                "application/json": {"schema": json_schema},
            },
            "required": True,
        }
    }
