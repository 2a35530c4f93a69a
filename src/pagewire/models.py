"""Frozen domain records passed between the store, the worker and the API.

Pydantic models live at the HTTP boundary (``pagewire.api.schemas``); the core
passes these plain values, built from rows and changed by making new ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar


class JobStatus(enum.StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in _FINAL


_FINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.EXPIRED})

EVENT_FOR_STATUS = {
    JobStatus.PENDING: "job.created",
    JobStatus.PROCESSING: "job.processing",
    JobStatus.COMPLETED: "job.completed",
    JobStatus.FAILED: "job.failed",
    JobStatus.CANCELED: "job.canceled",
    JobStatus.EXPIRED: "job.expired",
}

EVENT_TYPES = (*EVENT_FOR_STATUS.values(), "endpoint.disabled", "webhook.test")


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    created_at: float


@dataclass(frozen=True)
class ApiKey:
    id: str
    org_id: str
    prefix: str
    name: str | None
    created_at: float
    revoked_at: float | None
    last_used_at: float | None


@dataclass(frozen=True)
class JobInput:
    file_name: str | None
    file_url: str | None
    media_type: str | None
    sha256: str | None
    size: int | None
    blob_key: str | None


@dataclass(frozen=True)
class NewJob:
    """What a submission asks for, before the store gives it an id."""

    org_id: str
    input: JobInput
    options: dict[str, Any]
    metadata: dict[str, Any]
    priority: int = 0
    request: dict[str, Any] = field(default_factory=dict)  # audit: ip, user agent, request id
    idempotency_key: str | None = None
    idempotency_fingerprint: str | None = None


@dataclass(frozen=True)
class Job:
    id: str
    org_id: str
    status: JobStatus
    priority: int
    attempts: int
    max_attempts: int
    input: JobInput
    options: dict[str, Any]
    metadata: dict[str, Any]
    request: dict[str, Any]
    pages_done: int
    pages_total: int | None
    page_count: int | None
    result: dict[str, Any] | None
    result_blob_key: str | None
    result_size: int | None
    error: dict[str, Any] | None
    cancel_requested: bool
    sequence: int
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    lease_token: str | None = None
    idempotency_key: str | None = None
    idempotency_fingerprint: str | None = None


@dataclass(frozen=True)
class Lease:
    """A worker's claim on a job: every later change must present the token."""

    job: Job
    token: str


@dataclass(frozen=True)
class Event:
    id: str  # msg_...: the webhook-id of every delivery of this event
    org_id: str
    type: str
    job_id: str | None
    sequence: int
    payload: dict[str, Any]
    created_at: float


@dataclass(frozen=True)
class Endpoint:
    id: str
    org_id: str
    url: str
    description: str | None
    event_types: tuple[str, ...] | None
    headers: dict[str, str]
    rate_limit: int | None
    enabled: bool
    disabled_reason: str | None
    secret: str
    previous_secret: str | None
    previous_secret_expires_at: float | None
    created_at: float
    updated_at: float

    def wants(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types


T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a listing, newest first; ``next_cursor`` asks for the next one (None: last)."""

    data: list[T]
    next_cursor: str | None
