"""Turning a submission (multipart files or JSON file URLs, plus options) into jobs.

Shared by ``POST /extract`` (one document) and ``POST /batch/extract`` (many):
every document is checked before any job is created, and a rejected request
leaves no job and no stored file behind.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from pagewire.api.schemas import MAX_METADATA_BYTES, ExtractRequest, parse_pages
from pagewire.api.text_rules import check_text
from pagewire.blobs import StoredBlob
from pagewire.errors import InvalidRequest, PagewireError, UnsupportedMediaType
from pagewire.extract.formats import SUPPORTED_MEDIA_TYPES
from pagewire.extract.sniff import sniff_media_type
from pagewire.ids import new_id
from pagewire.models import Job, JobInput, NewJob, Principal
from pagewire.runtime import Services
from pagewire.security import netguard
from pagewire.telemetry import traces
from pagewire.telemetry.logs import current_request_id

log = logging.getLogger("pagewire.api")

MAX_FILE_NAME = 512  # what the jobs table holds
# The fields every submission understands besides its options (``ExtractRequest``).
KNOWN_FIELDS = frozenset(
    {"file"} | {f.alias or name for name, f in ExtractRequest.model_fields.items()}
)
WARNINGS_HEADER = "X-Pagewire-Warnings"
_MAX_WARNINGS = 20


@dataclass(frozen=True)
class Submission:
    """A parsed request: its options, and its documents (uploads or URLs)."""

    body: ExtractRequest
    raw: dict[str, Any]
    uploads: list[UploadFile]
    file_urls: list[str]
    warnings: list[str]

    def warning_headers(self) -> dict[str, str]:
        """The warnings as one header (ASCII: a field's name may be anything)."""
        if not self.warnings:
            return {}
        text = "; ".join(self.warnings)
        return {WARNINGS_HEADER: text.encode("ascii", "backslashreplace").decode()}


@dataclass(frozen=True)
class Document:
    """One document, checked and (for uploads) stored, ready to become a job."""

    input: JobInput
    stored: StoredBlob | None


async def read_submission(
    request: Request, *, max_files: int, also_known: frozenset[str] = frozenset()
) -> Submission:
    """Parse multipart or JSON; the form stays open until ``close_form``.

    A field the route does not know (``KNOWN_FIELDS`` and ``also_known``) is ignored,
    as clients written for other document APIs expect, and named in ``warnings``.
    """
    content_type = request.headers.get("content-type", "")
    uploads: list[UploadFile] = []
    names: list[str] = []
    if content_type.startswith("multipart/form-data"):
        # The body's size was capped before it was read (pagewire.api.body_limits).
        form: FormData = await request.form(max_files=max_files)
        raw: dict[str, Any] = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
        uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        names = list(dict.fromkeys(form.keys()))
        if isinstance(raw.get("metadata"), str):
            raw["metadata"] = _json_field("metadata", raw["metadata"])
    elif content_type.startswith("application/json"):
        raw = _json_field("the body", await request.body() or b"null")
        if not isinstance(raw, dict):
            raise InvalidRequest("the body must be a JSON object", code="malformed_json")
        names = list(raw)
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
    file_urls = [body.file_url] if body.file_url else []
    warnings = ignored_field_warnings(names, KNOWN_FIELDS | also_known)
    return Submission(body, raw, uploads, file_urls, warnings)


def ignored_field_warnings(names: list[str], known: frozenset[str]) -> list[str]:
    """One line per unknown field (``-F pagse=1-2``), with the likely intended one."""
    warnings: list[str] = []
    for name in names:
        if name in known:
            continue
        if len(warnings) == _MAX_WARNINGS:
            warnings.append("more unknown fields were ignored")
            break
        shown = repr(name[:100])
        guess = difflib.get_close_matches(name, sorted(known), n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        warnings.append(f"unknown field {shown} was ignored{hint}")
    return warnings


async def close_form(request: Request) -> None:
    """Uploads are spooled to temporary files; close them whatever happened."""
    form = getattr(request, "_form", None)
    if form is not None:
        await form.close()


@dataclass(frozen=True)
class JobSpec:
    """What a request asks of each of its jobs: extraction options, metadata, priority."""

    options: dict[str, Any]
    metadata: dict[str, Any]
    priority: int


def job_spec(body: ExtractRequest, max_pages: int) -> JobSpec:
    """Checked before any upload is stored: bad pages or metadata refuse the request."""
    return JobSpec(job_options(body, max_pages), checked_metadata(body), body.priority)


def job_options(body: ExtractRequest, max_pages: int) -> dict[str, Any]:
    return {
        "pages": parse_pages(body.pages, max_pages),
        "ocr": body.ocr,
        "tables": body.tables,
        "chunking": body.chunking,
        "chunk_size": body.chunk_size,
        "return_html": body.return_html,
    }


def checked_metadata(body: ExtractRequest) -> dict[str, Any]:
    metadata = body.metadata or {}
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise InvalidRequest("metadata is larger than 16 KB", code="metadata_too_large")
    return metadata


async def prepare_documents(
    services: Services, uploads: list[UploadFile], file_urls: list[str]
) -> list[Document]:
    """Store and sniff every upload, check every URL; all or nothing."""
    documents: list[Document] = []
    try:
        for index, upload in enumerate(uploads):
            try:
                _check_file_name(upload.filename)
                stored = await _store_upload(services, upload)
            except PagewireError as error:
                if len(uploads) > 1:
                    error.details = {**error.details, "index": index}
                raise
            documents.append(
                Document(
                    JobInput(
                        file_name=upload.filename,
                        file_url=None,
                        media_type=sniff_media_type(stored.head),
                        sha256=stored.sha256,
                        size=stored.size,
                        blob_key=stored.key,
                    ),
                    stored,
                )
            )
        allow_private = services.settings.allow_private_urls
        networks = services.settings.allowed_networks
        for index, url in enumerate(file_urls):
            try:
                check_text(f"file_urls[{index}]" if len(file_urls) > 1 else "file_url", url)
                netguard.validate_url(url, allow_private=allow_private, allowed_networks=networks)
                await netguard.check_url(
                    url, allow_private=allow_private, allowed_networks=networks
                )
            except PagewireError as error:
                if len(file_urls) > 1:
                    error.details = {**error.details, "index": index}
                raise
            documents.append(
                Document(JobInput(_name_from_url(url), url, None, None, None, None), None)
            )
    except BaseException:
        for document in documents:
            if document.stored is not None:
                await services.blobs.delete(document.stored.key)
        raise
    return documents


def new_job(
    request: Request,
    caller: Principal,
    document: Document,
    spec: JobSpec,
    *,
    idempotency_key: str | None,
) -> NewJob:
    fingerprint = None
    if idempotency_key is not None:
        fingerprint = _fingerprint(document, spec.options, spec.metadata, spec.priority)
    return NewJob(
        org_id=caller.org_id,
        input=document.input,
        options=spec.options,
        metadata=spec.metadata,
        priority=spec.priority,
        request={
            "ip": request.client.host if request.client else None,
            "user_agent": request.headers.get("user-agent"),
            "request_id": current_request_id(),  # set by telemetry.http for every request
            "key_id": caller.key_id,
        },
        idempotency_key=idempotency_key,
        idempotency_fingerprint=fingerprint,
    )


async def enqueue(services: Services, new: NewJob, document: Document) -> tuple[Job, bool]:
    """Create the job; an idempotent replay keeps the first job's file, not this one.

    While traces are on, in a ``pagewire.submit`` span whose context is stored with the
    job, for the worker's spans to continue (:mod:`pagewire.telemetry.traces`).
    """
    tracer = traces.tracer()
    if tracer is None:
        return await _enqueue(services, new, document)
    with tracer.start_as_current_span("pagewire.submit") as span:
        context = {traces.TRACEPARENT: traces.traceparent(span)}
        job, created = await _enqueue(
            services, replace(new, request={**new.request, **context}), document
        )
        span.set_attributes({traces.JOB_ID: job.id, "pagewire.replayed": not created})
        return job, created


async def _enqueue(services: Services, new: NewJob, document: Document) -> tuple[Job, bool]:
    try:
        job, created = await services.store.jobs.enqueue(new)
    except BaseException:
        if document.stored is not None:
            await services.blobs.delete(document.stored.key)
        raise
    if not created and document.stored is not None:
        await services.blobs.delete(document.stored.key)
    log.info(
        "job submitted",
        extra={"fields": {"job_id": job.id, "org_id": job.org_id, "replayed": not created}},
    )
    return job, created


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise InvalidRequest(
            "Idempotency-Key must be 1 to 255 characters", code="invalid_idempotency_key"
        )
    return key


async def _store_upload(services: Services, upload: UploadFile) -> StoredBlob:
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


def _json_field(name: str, value: str | bytes) -> Any:
    try:
        return json.loads(value) if value.strip() else None
    except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8/16/32
        raise InvalidRequest(f"{name} is not valid JSON: {error}", code="malformed_json") from None
    except RecursionError:
        # The parser recurses per level; text_rules refuses anything this deep anyway.
        raise InvalidRequest(f"{name} nests too deeply", code="malformed_json") from None


def _check_file_name(name: str | None) -> None:
    if name is None:
        return
    check_text("file", name)
    if len(name) > MAX_FILE_NAME:
        raise InvalidRequest(
            f"the file's name is longer than {MAX_FILE_NAME} characters", details={"field": "file"}
        )


def _name_from_url(url: str | None) -> str | None:
    if not url:
        return None
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return name[-MAX_FILE_NAME:] or None  # the end keeps the extension


def _fingerprint(
    document: Document, options: dict[str, Any], metadata: dict[str, Any], priority: int
) -> str:
    canonical = json.dumps(
        {
            "sha256": document.input.sha256,
            "file_url": document.input.file_url,
            "options": options,
            "metadata": metadata,
            "priority": priority,
        },
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
