"""The thin event payloads webhooks carry, and the catalog that describes each type.

A payload says what happened and where to read the truth; it never carries the
document's content. ``EVENT_CATALOG`` lists every type with a JSON Schema and an
example; the examples come from the functions that build real payloads, so the
catalog cannot drift from what is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from pagewire.kernel.timefmt import iso
from pagewire.models import EVENT_TYPES, Job, JobInput, JobStatus

TEST_EVENT_MESSAGE = "a test event from pagewire"


def job_url(public_url: str, job_id: str) -> str:
    return f"{public_url.rstrip('/')}/job/{job_id}"


def job_event_payload(event_type: str, job: Job, *, public_url: str, at: float) -> dict[str, Any]:
    """Never the document's content: a receiver fetches ``data.url`` for that."""
    data: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status.value,
        "sequence": job.sequence,
        "metadata": job.metadata,
        "page_count": job.page_count,
        "url": job_url(public_url, job.id),
    }
    if job.error is not None:
        data["error"] = job.error
    return {"type": event_type, "timestamp": iso(at), "data": data}


def endpoint_disabled_payload(
    endpoint_id: str, url: str, reason: str, *, at: float
) -> dict[str, Any]:
    return {
        "type": "endpoint.disabled",
        "timestamp": iso(at),
        "data": {"endpoint_id": endpoint_id, "url": url, "reason": reason},
    }


def webhook_test_payload(endpoint_id: str, *, at: float) -> dict[str, Any]:
    return {
        "type": "webhook.test",
        "timestamp": iso(at),
        "data": {"endpoint_id": endpoint_id, "message": TEST_EVENT_MESSAGE},
    }


# -- the catalog ----------------------------------------------------------------

SAMPLE_AT = 1795907405.123  # 2026-11-28T23:10:05.123Z
SAMPLE_PUBLIC_URL = "https://pagewire.example.com"
SAMPLE_ENDPOINT_ID = "ep_01m8j6v2edhqy867atrpccrk10"
SAMPLE_JOB = Job(
    id="job_01m8j6v2edhqy867atrpccrk10",
    org_id="org_01m8j6v2edhqy867atrpccrk10",
    status=JobStatus.PENDING,
    priority=0,
    attempts=0,
    max_attempts=3,
    input=JobInput("invoice.pdf", None, "application/pdf", None, None, None),
    options={},
    metadata={"user_id": "u_123", "record": "inv-2026-0042"},
    request={},
    pages_done=0,
    pages_total=None,
    page_count=None,
    result=None,
    result_blob_key=None,
    result_size=None,
    error=None,
    cancel_requested=False,
    sequence=1,
    created_at=SAMPLE_AT,
    updated_at=SAMPLE_AT,
    started_at=None,
    finished_at=None,
)
SAMPLE_ERROR = {
    "code": "worker_lost",
    "message": "the worker running this job stopped responding 3 times; giving up",
}

# How the sample job looks when each event is sent: (status, sequence, page_count, error).
_SAMPLE_STATES: dict[str, tuple[JobStatus, int, int | None, dict[str, Any] | None]] = {
    "job.created": (JobStatus.PENDING, 1, None, None),
    "job.processing": (JobStatus.PROCESSING, 2, None, None),
    "job.completed": (JobStatus.COMPLETED, 3, 17, None),
    "job.failed": (JobStatus.FAILED, 3, None, SAMPLE_ERROR),
    "job.canceled": (JobStatus.CANCELED, 2, None, None),
    "job.expired": (JobStatus.EXPIRED, 4, 17, None),
}

_DESCRIPTIONS = {
    "job.created": "A job was accepted (POST /extract).",
    "job.processing": "A worker started the job (again after a lost worker's retry).",
    "job.completed": "The result is ready: fetch it from data.url (GET /job/{jobId}).",
    "job.failed": "The job failed for good; data.error says why.",
    "job.canceled": "The job was canceled (DELETE /job/{jobId}).",
    "job.expired": "The job's input and result passed the retention period and were deleted.",
    "endpoint.disabled": (
        "One of the organization's other endpoints was disabled automatically "
        "(it answered 410 Gone, or every attempt failed for days)."
    ),
    "webhook.test": "A test event sent to one endpoint (POST /webhook/endpoints/{id}/test).",
}


def example_payload(
    event_type: str,
    *,
    at: float = SAMPLE_AT,
    endpoint_id: str = SAMPLE_ENDPOINT_ID,
    public_url: str = SAMPLE_PUBLIC_URL,
) -> dict[str, Any]:
    """A payload of ``event_type`` about the sample job (or ``endpoint_id``), built as real ones are."""
    if event_type in _SAMPLE_STATES:
        status, sequence, page_count, error = _SAMPLE_STATES[event_type]
        job = replace(
            SAMPLE_JOB, status=status, sequence=sequence, page_count=page_count, error=error
        )
        return job_event_payload(event_type, job, public_url=public_url, at=at)
    if event_type == "endpoint.disabled":
        reason = "every delivery attempt failed for 5.0 days"
        return endpoint_disabled_payload(endpoint_id, "https://old.example.com/hook", reason, at=at)
    if event_type == "webhook.test":
        return webhook_test_payload(endpoint_id, at=at)
    raise KeyError(event_type)


# -- JSON Schema (draft 2020-12) of each payload ------------------------------------

_TEST_MARKER = {
    "type": "boolean",
    "description": "Present (true) only on a test event: `pagewire trigger` or POST .../test.",
}
_ERROR = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}


def _job_data(status: JobStatus) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["job_id", "status", "sequence", "metadata", "page_count", "url"],
        "properties": {
            "job_id": {"type": "string", "pattern": "^job_"},
            "status": {"const": status.value},
            "sequence": {
                "type": "integer",
                "minimum": 1,
                "description": "Counts the job's events (1 = job.created): newer wins.",
            },
            "metadata": {"type": "object", "description": "What was sent with POST /extract."},
            "page_count": {"type": ["integer", "null"], "minimum": 0},
            "url": {"type": "string", "format": "uri", "description": "Read the job here."},
            "error": {**_ERROR, "description": "Why the job failed (failed jobs only)."},
            "test": _TEST_MARKER,
        },
        "additionalProperties": False,
    }


def _data_schema(event_type: str) -> dict[str, Any]:
    if event_type in _SAMPLE_STATES:
        return _job_data(_SAMPLE_STATES[event_type][0])
    endpoint_id = {"type": "string", "pattern": "^ep_"}
    if event_type == "endpoint.disabled":
        fields = {
            "endpoint_id": endpoint_id,
            "url": {"type": "string", "format": "uri"},
            "reason": {"type": "string"},
        }
    else:
        fields = {"endpoint_id": endpoint_id, "message": {"type": "string"}}
    return {
        "type": "object",
        "required": list(fields),
        "properties": {**fields, "test": _TEST_MARKER},
        "additionalProperties": False,
    }


def _schema(event_type: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": event_type,
        "type": "object",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"const": event_type},
            "timestamp": {"type": "string", "format": "date-time"},
            "data": _data_schema(event_type),
        },
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class EventType:
    """One event type: what it means, the JSON Schema of its payload, an example payload."""

    type: str
    description: str
    schema: dict[str, Any]
    example: dict[str, Any]


EVENT_CATALOG: tuple[EventType, ...] = tuple(
    EventType(name, _DESCRIPTIONS[name], _schema(name), example_payload(name))
    for name in EVENT_TYPES
)
_BY_NAME = {entry.type: entry for entry in EVENT_CATALOG}


def event_type(name: str) -> EventType:
    """The catalog entry of ``name``; KeyError for a type pagewire never sends."""
    return _BY_NAME[name]
