"""``POST /batch/extract``: many documents in one call, one job each, one response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pagewire.api import submit
from pagewire.api.auth import principal
from pagewire.api.deps import ServicesDep
from pagewire.api.errors import error_responses
from pagewire.api.schemas import form_or_json_body
from pagewire.errors import InvalidRequest
from pagewire.events import job_url
from pagewire.models import Principal

router = APIRouter(tags=["jobs"], responses=error_responses(401, 429, 503))
Caller = Annotated[Principal, Depends(principal)]

MAX_DOCUMENTS = 100


class BatchJob(BaseModel):
    job_id: str
    status: str
    url: str
    file_name: str | None


class BatchSubmitted(BaseModel):
    data: list[BatchJob]
    warnings: list[str] = Field(
        default_factory=list,
        description="what the request asked that pagewire ignored (an unknown field...)",
    )


@router.post(
    "/batch/extract",
    status_code=202,
    response_model=BatchSubmitted,
    operation_id="extractBatch",
    responses=error_responses(400, 409, 413, 415),
    summary="Submit many documents: multipart `file` parts or JSON `file_urls`",
    openapi_extra=form_or_json_body(
        {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
        {
            "type": "object",
            "properties": {"file_urls": {"type": "array", "items": {"type": "string"}}},
        },
    ),
)
async def batch_extract(request: Request, caller: Caller, services: ServicesDep) -> JSONResponse:
    """Always asynchronous. Every document is checked before any job is created: one bad
    document rejects the call (``details.index`` names it) and creates nothing."""
    settings = services.settings
    try:
        submission = await submit.read_submission(
            request, max_files=MAX_DOCUMENTS, also_known=frozenset({"file_urls"})
        )
        file_urls = _file_urls(submission.raw.get("file_urls"))
        count = len(submission.uploads) + len(file_urls)
        if count == 0:
            raise InvalidRequest("send file parts or a file_urls list", code="missing_file")
        if count > MAX_DOCUMENTS:
            raise InvalidRequest(
                f"a batch holds at most {MAX_DOCUMENTS} documents", code="batch_too_large"
            )
        spec = submit.job_spec(submission.body, settings.max_pages)
        key = submit.idempotency_key(request)
        documents = await submit.prepare_documents(services, submission.uploads, file_urls)
    finally:
        await submit.close_form(request)
    submitted = []
    for index, document in enumerate(documents):
        new = submit.new_job(
            request,
            caller,
            document,
            spec,
            idempotency_key=f"{key}#{index}" if key is not None else None,
        )
        job, _ = await submit.enqueue(services, new, document)
        submitted.append(
            BatchJob(
                job_id=job.id,
                status=job.status.value,
                url=job_url(settings.public_url, job.id),
                file_name=job.input.file_name,
            )
        )
    return JSONResponse(
        BatchSubmitted(data=submitted, warnings=submission.warnings).model_dump(),
        202,
        submission.warning_headers(),
    )


def _file_urls(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidRequest("file_urls must be a list of URLs", code="invalid_request")
    return value
