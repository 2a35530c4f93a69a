"""Job routes: submit, read, list, cancel, fetch a large result."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from pagewire import netguard
from pagewire.api.auth import principal
from pagewire.api.schemas import ExtractRequest, JobList, JobOut, JobSubmitted, parse_pages
from pagewire.api.views import job_out
from pagewire.blobs import StoredBlob
from pagewire.errors import Conflict, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from pagewire.events import job_url
from pagewire.extract import SUPPORTED_MEDIA_TYPES, sniff_media_type
from pagewire.ids import new_id
from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.store import Principal

router = APIRouter(tags=["jobs"])
Caller = Annotated[Principal, Depends(principal)]

_EXTRACT_BODY = {
    "requestBody": {
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "async": {"type": "boolean"},
                        "pages": {"type": "string", "example": "1-3,7"},
                        "metadata": {"type": "string", "description": "a JSON object"},
                    },
                }
            },
            "application/json": {"schema": ExtractRequest.model_json_schema(by_alias=True)},
        },
        "required": True,
    }
}


@router.post(
    "/extract",
    status_code=202,
    openapi_extra=_EXTRACT_BODY,
    responses={200: {"model": JobOut}, 202: {"model": JobSubmitted}},
    summary="Submit a document (multipart file or JSON file_url)",
)
async def extract(request: Request, caller: Caller) -> JSONResponse:
    try:
        return await _extract(request, caller)
    finally:
        # Uploads are spooled to temporary files; close them whatever happened.
        form = getattr(request, "_form", None)
        if form is not None:
            await form.close()


async def _extract(request: Request, caller: Principal) -> JSONResponse:
    services = request.app.state.services
    settings = services.settings
    content_type = request.headers.get("content-type", "")
    upload: UploadFile | None = None
    if content_type.startswith("multipart/form-data"):
        length = int(request.headers.get("content-length") or 0)
        if length > settings.max_upload_bytes + 64 * 1024:
            raise PayloadTooLarge(
                f"the request is larger than the limit of {settings.max_upload_bytes} bytes",
                details={"max_bytes": settings.max_upload_bytes},
            )
        form = await request.form(max_files=1)
        raw: dict[str, Any] = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
        file_field = form.get("file")
        upload = file_field if isinstance(file_field, UploadFile) else None
        if isinstance(raw.get("metadata"), str):
            raw["metadata"] = _json_field("metadata", raw["metadata"])
    elif content_type.startswith("application/json"):
        try:
            raw = json.loads(await request.body() or b"null")
        except json.JSONDecodeError as error:
            raise InvalidRequest(
                f"the body is not valid JSON: {error}", code="malformed_json"
            ) from None
        if not isinstance(raw, dict):
            raise InvalidRequest("the body must be a JSON object", code="malformed_json")
    else:
        raise UnsupportedMediaType(
            "send multipart/form-data with a file, or application/json with file_url",
            code="unsupported_content_type",
        )
    try:
        body = ExtractRequest.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InvalidRequest(f"{field}: {first['msg']}", details={"field": field}) from None
    if (upload is None) == (body.file_url is None):
        raise InvalidRequest("send exactly one of a file or a file_url", code="missing_file")
    pages = parse_pages(body.pages, settings.max_pages)
    metadata = body.metadata or {}
    if len(json.dumps(metadata)) > 16 * 1024:
        raise InvalidRequest("metadata is larger than 16 KB", code="metadata_too_large")

    stored: StoredBlob | None = None
    if upload is not None:
        stored = await _store_upload(services, upload)
    else:
        assert body.file_url is not None
        guard = {
            "allow_private": settings.allow_private_urls,
            "allowed_networks": settings.allowed_networks,
        }
        netguard.validate_url(body.file_url, **guard)
        await netguard.check_url(body.file_url, **guard)

    options = {
        "pages": pages,
        "ocr": body.ocr,
        "tables": body.tables,
        "chunking": body.chunking,
        "chunk_size": body.chunk_size,
        "return_html": body.return_html,
    }
    idempotency_key = request.headers.get("idempotency-key")
    fingerprint = None
    if idempotency_key is not None:
        if not 1 <= len(idempotency_key) <= 255:
            raise InvalidRequest(
                "Idempotency-Key must be 1 to 255 characters", code="invalid_idempotency_key"
            )
        fingerprint = _fingerprint(stored, body.file_url, options, metadata, body.priority)
    new = NewJob(
        org_id=caller.org_id,
        input=JobInput(
            file_name=(upload.filename if upload else None) or _name_from_url(body.file_url),
            file_url=body.file_url,
            media_type=sniff_media_type(stored.head) if stored else None,
            sha256=stored.sha256 if stored else None,
            size=stored.size if stored else None,
            blob_key=stored.key if stored else None,
        ),
        options=options,
        metadata=metadata,
        priority=body.priority,
        request={
            "ip": request.client.host if request.client else None,
            "user_agent": request.headers.get("user-agent"),
            "request_id": request.headers.get("x-request-id"),
            "key_id": caller.key_id,
        },
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint,
    )
    try:
        job, created = await services.store.jobs.enqueue(new)
    except BaseException:
        if stored is not None:
            await services.blobs.delete(stored.key)
        raise
    headers = {"Location": job_url(settings.public_url, job.id)}
    if not created:
        headers["Idempotent-Replayed"] = "true"
        if stored is not None:
            await services.blobs.delete(stored.key)
    if not body.async_ and created:
        job = await _wait_for_finish(services, caller.org_id, job.id, settings.sync_wait_seconds)
        if job.status.is_final:
            return JSONResponse(job_out(job, settings.public_url).model_dump(), 200, headers)
    submitted = JobSubmitted(
        job_id=job.id, status=job.status.value, url=job_url(settings.public_url, job.id)
    )
    return JSONResponse(submitted.model_dump(), 202, headers)


async def _store_upload(services: Any, upload: UploadFile) -> StoredBlob:
    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await upload.read(1 << 20):
            yield chunk

    stored: StoredBlob = await services.blobs.put_stream(
        f"uploads/{new_id('upl')}", chunks(), max_bytes=services.settings.max_upload_bytes
    )
    if stored.size == 0:
        await services.blobs.delete(stored.key)
        raise InvalidRequest("the file is empty", code="empty_file")
    if sniff_media_type(stored.head) is None:
        await services.blobs.delete(stored.key)
        named = f" (named {upload.filename!r})" if upload.filename else ""
        raise UnsupportedMediaType(
            f"the file's content{named} is not a type pagewire reads; supported: "
            f"{', '.join(SUPPORTED_MEDIA_TYPES)}",
            details={"supported": list(SUPPORTED_MEDIA_TYPES)},
        )
    return stored


def _json_field(name: str, value: str) -> Any:
    try:
        return json.loads(value) if value.strip() else None
    except json.JSONDecodeError:
        raise InvalidRequest(f"{name} must be a JSON object", code="malformed_json") from None


def _name_from_url(url: str | None) -> str | None:
    if not url:
        return None
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name or None


def _fingerprint(
    stored: StoredBlob | None,
    file_url: str | None,
    options: dict[str, Any],
    metadata: dict[str, Any],
    priority: int,
) -> str:
    canonical = json.dumps(
        {
            "sha256": stored.sha256 if stored else None,
            "file_url": file_url,
            "options": options,
            "metadata": metadata,
            "priority": priority,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def _wait_for_finish(services: Any, org_id: str, job_id: str, limit: float) -> Any:
    """Sync mode: wait up to ``limit`` for the job, then answer with it as it is."""
    deadline = time.monotonic() + limit
    delay = 0.05
    while True:
        job = await services.store.jobs.get(org_id, job_id)
        if job.status.is_final or time.monotonic() >= deadline:
            return job
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.5)


@router.get("/job/{job_id}", response_model=JobOut, summary="The job: status, progress, result")
async def get_job(job_id: str, request: Request, caller: Caller) -> JobOut:
    job = await request.app.state.services.store.jobs.get(caller.org_id, job_id)
    return job_out(job, request.app.state.services.settings.public_url)


@router.delete("/job/{job_id}", response_model=JobOut, summary="Cancel a job (idempotent)")
async def cancel_job(job_id: str, request: Request, caller: Caller) -> JobOut:
    job = await request.app.state.services.store.jobs.cancel(caller.org_id, job_id)
    return job_out(job, request.app.state.services.settings.public_url)


@router.get("/job/{job_id}/result", summary="The full result of a completed job")
async def get_result(job_id: str, request: Request, caller: Caller) -> Any:
    services = request.app.state.services
    job = await services.store.jobs.get(caller.org_id, job_id)
    if job.status is not JobStatus.COMPLETED:
        raise Conflict(
            f"job {job_id} is {job.status.value}, not completed", code="job_not_completed"
        )
    if job.result_blob_key is not None:
        return FileResponse(
            services.blobs.local_path(job.result_blob_key), media_type="application/json"
        )
    return JSONResponse(job.result)


def _time(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidRequest(
            f"{name} must be an ISO 8601 time or epoch seconds", code="invalid_time"
        ) from None


@router.get("/jobs", response_model=JobList, summary="List jobs, newest first")
async def list_jobs(
    request: Request,
    caller: Caller,
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
    page = await request.app.state.services.store.jobs.list_jobs(
        caller.org_id,
        statuses=statuses,
        created_after=_time(created_after, "created_after"),
        created_before=_time(created_before, "created_before"),
        cursor=cursor,
        limit=limit,
    )
    public_url = request.app.state.services.settings.public_url
    return JobList(
        data=[job_out(j, public_url, with_result=False) for j in page.data],
        next_cursor=page.next_cursor,
    )
