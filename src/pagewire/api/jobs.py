"""Job routes: submit, read, list, cancel, fetch a large result."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from pagewire.api import submit
from pagewire.api.auth import principal
from pagewire.api.deps import ServicesDep
from pagewire.api.errors import error_responses
from pagewire.api.idempotency import document_idempotency_keys, honours_idempotency_key
from pagewire.api.schemas import (
    ExtractRequest,
    JobAudit,
    JobList,
    JobOut,
    JobSubmitted,
    form_or_json_body,
    parse_time_param,
)
from pagewire.api.views import audit_out, job_out
from pagewire.errors import BlobNotFound, BlobStoreUnavailable, Conflict, InvalidRequest
from pagewire.events import job_url
from pagewire.kernel.timefmt import iso
from pagewire.models import Job, JobStatus, Principal
from pagewire.runtime import Services

router = APIRouter(tags=["jobs"], responses=error_responses(401, 429, 503))
# How long a presigned link to a large result works (docs/api.md). Short: anyone who
# holds the link reads the result, and a client asks GET /job again for a fresh one.
RESULT_URL_LIFETIME = timedelta(minutes=15)
Caller = Annotated[Principal, Depends(principal)]

_EXTRACT_BODY = form_or_json_body(
    {
        "file": {"type": "string", "format": "binary"},
        "async": {"type": "boolean"},
        "pages": {"type": "string", "example": "1-3,7"},
        "metadata": {"type": "string", "description": "a JSON object"},
    },
    ExtractRequest.model_json_schema(by_alias=True),
)


@router.post(
    "/extract",
    status_code=202,
    operation_id="extract",
    openapi_extra=_EXTRACT_BODY,
    responses={
        200: {"model": JobOut, "description": "Finished within the wait (sync mode)"},
        202: {"model": JobSubmitted, "description": "Accepted; poll the job or await a webhook"},
        **error_responses(400, 409, 413, 415),
    },
    summary="Submit a document (multipart file or JSON file_url)",
)
@honours_idempotency_key  # through its job rows (submit.idempotency_key)
async def extract(request: Request, caller: Caller, services: ServicesDep) -> JSONResponse:
    settings = services.settings
    try:
        submission = await submit.read_submission(request, max_files=1)
        body = submission.body
        if len(submission.uploads) + len(submission.file_urls) != 1:
            raise InvalidRequest("send exactly one of a file or a file_url", code="missing_file")
        spec = submit.job_spec(body, settings.max_pages)
        key = submit.idempotency_key(request)
        [document] = await submit.prepare_documents(
            services, submission.uploads, submission.file_urls
        )
    finally:
        await submit.close_form(request)
    new = submit.new_job(request, caller, document, spec, idempotency_key=key)
    job, created = await submit.enqueue(services, new, document)
    headers = {"Location": job_url(settings.public_url, job.id), **submission.warning_headers()}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    if not body.async_ and created:
        job = await _wait_for_finish(services, caller.org_id, job.id, settings.sync_wait_seconds)
        if job.status.is_final:
            return JSONResponse((await _job_view(services, job)).model_dump(), 200, headers)
    submitted = JobSubmitted(
        job_id=job.id,
        status=job.status.value,
        url=job_url(settings.public_url, job.id),
        warnings=submission.warnings,
    )
    return JSONResponse(submitted.model_dump(), 202, headers)


async def _wait_for_finish(services: Services, org_id: str, job_id: str, limit: float) -> Job:
    """Sync mode: wait up to ``limit`` for the job, then answer with it as it is."""
    deadline = time.monotonic() + limit
    delay = 0.05
    while True:
        job = await services.store.jobs.get(org_id, job_id)
        if job.status.is_final or time.monotonic() >= deadline:
            return job
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


@router.get(
    "/job/{job_id}",
    response_model=JobOut,
    operation_id="getJob",
    responses=error_responses(404),
    summary="The job: status, progress, result",
)
async def get_job(job_id: str, caller: Caller, services: ServicesDep) -> JobOut:
    job = await services.store.jobs.get(caller.org_id, job_id)
    return await _job_view(services, job)


@router.get(
    "/job/{job_id}/audit",
    response_model=JobAudit,
    operation_id="getJobAudit",
    responses=error_responses(404),
    summary="Who submitted the job: API key id, IP, user agent, request id, metadata",
)
async def get_job_audit(job_id: str, caller: Caller, services: ServicesDep) -> JobAudit:
    return audit_out(await services.store.jobs.get(caller.org_id, job_id))


async def _job_view(services: Services, job: Job) -> JobOut:
    """The job as a client sees it; a result stored as an object links to it directly
    when the store can sign a link (a bucket), else to ``GET /job/{id}/result``."""
    out = job_out(job, services.settings.public_url)
    if job.result_blob_key is None or not isinstance(out.result, dict):
        return out
    try:
        url = await services.blobs.presigned_url(job.result_blob_key, RESULT_URL_LIFETIME)
    except BlobStoreUnavailable:
        url = None  # the API's own link still works, and the job's status must not fail
    if url is not None:
        expires = time.time() + RESULT_URL_LIFETIME.total_seconds()
        out.result = {**out.result, "url": url, "expires_at": iso(expires)}
    return out


@router.delete(
    "/job/{job_id}",
    response_model=JobOut,
    operation_id="cancelJob",
    responses=error_responses(404),
    summary="Cancel a job (idempotent)",
)
async def cancel_job(job_id: str, caller: Caller, services: ServicesDep) -> JobOut:
    job = await services.store.jobs.cancel(caller.org_id, job_id)
    return job_out(job, services.settings.public_url)


@router.get(
    "/job/{job_id}/result",
    operation_id="getJobResult",
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        **error_responses(404, 409),
    },
    summary="The full result of a completed job",
)
async def get_result(job_id: str, caller: Caller, services: ServicesDep) -> Response:
    job = await services.store.jobs.get(caller.org_id, job_id)
    if job.status is not JobStatus.COMPLETED:
        raise Conflict(
            f"job {job_id} is {job.status.value}, not completed", code="job_not_completed"
        )
    if job.result_blob_key is not None:
        try:
            chunks = await services.blobs.open_stream(job.result_blob_key)
        except BlobNotFound:
            # Expired since it was read: answer as for any expired job.
            job = await services.store.jobs.get(caller.org_id, job_id)
            if job.status is not JobStatus.COMPLETED:
                raise Conflict(
                    f"job {job_id} is {job.status.value}, not completed",
                    code="job_not_completed",
                ) from None
            raise
        headers = {"Content-Length": str(job.result_size)} if job.result_size else None
        return StreamingResponse(chunks, media_type="application/json", headers=headers)
    return JSONResponse(job.result)


@router.get(
    "/jobs",
    response_model=JobList,
    operation_id="listJobs",
    responses=error_responses(400, 422),
    summary="List jobs, newest first",
)
async def list_jobs(
    caller: Caller,
    services: ServicesDep,
    status: Annotated[list[str] | None, Query(description="repeat or comma-separate")] = None,
    created_after: str | None = None,
    created_before: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> JobList:
    statuses = []
    for value in ",".join(status or []).split(","):
        if value.strip():
            try:
                statuses.append(JobStatus(value.strip()))
            except ValueError:
                raise InvalidRequest(f"unknown status {value!r}", code="invalid_status") from None
    page = await services.store.jobs.list_jobs(
        caller.org_id,
        statuses=statuses,
        created_after=parse_time_param(created_after, "created_after"),
        created_before=parse_time_param(created_before, "created_before"),
        cursor=cursor,
        limit=limit,
    )
    public_url = services.settings.public_url
    return JobList(
        data=[job_out(j, public_url, with_result=False) for j in page.data],
        next_cursor=page.next_cursor,
    )


document_idempotency_keys(router)
