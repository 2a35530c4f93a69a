"""Every domain record: the plain values passed between the store, the worker, the
dispatcher, the API and the portal.

Pydantic models live at the HTTP boundary (``pagewire.api.schemas``); the core
passes these frozen values, built from rows and changed by making new ones. The
dispatcher's two per-delivery records are slotted instead (read-only by convention).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pagewire.ids import new_id

T = TypeVar("T")


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
class Principal:
    """Who a request is: every query it makes is scoped by ``org_id``."""

    org_id: str
    key_id: str | None


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
    # A shard's job (store/shards.py): shards are never shown through the API.
    parent_id: str | None = None


@dataclass(frozen=True)
class Lease:
    """A worker's claim on a job: every later change must present the token."""

    job: Job
    token: str


@dataclass(frozen=True)
class LeaseState:
    """What a heartbeat learns: whether the job is still ours, and whether to stop."""

    owned: bool
    cancel_requested: bool


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list, newest first; ``next_cursor`` is the last id of this page."""

    data: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class JobCounts:
    """The job queue at a glance, for metrics."""

    by_status: dict[str, int]
    oldest_pending_age: float  # seconds; 0 when nothing waits


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
class NewEvent:
    """An event to append to the outbox, with a delivery to each subscribed endpoint."""

    org_id: str
    type: str
    payload: dict[str, Any]
    job_id: str | None = None
    sequence: int = 0
    only_endpoint_id: str | None = None  # a test event goes to one endpoint


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


# -- messages: an event with its deliveries and their attempts ---------------------


@dataclass(frozen=True)
class Attempt:
    id: str
    delivery_id: str
    created_at: float
    status_code: int | None
    latency_ms: float | None
    response_body: str | None
    error: str | None
    error_detail: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    endpoint_id: str
    job_id: str | None
    sequence: int
    status: str  # pending, succeeded, failed
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    created_at: float
    updated_at: float
    finished_at: float | None
    attempt_log: tuple[Attempt, ...] = ()


@dataclass(frozen=True)
class Message:
    event: Event
    deliveries: tuple[Delivery, ...] = ()


# -- the dispatcher's side ------------------------------------------------------------

Verdict = Literal["succeeded", "retry", "failed", "disable"]


# The dispatcher makes one of each per delivery: plain slotted classes (treated as
# read-only), since a frozen dataclass sets each field through object.__setattr__.
@dataclass(slots=True)
class ClaimedDelivery:
    """Everything one attempt needs, read in the claim's transaction."""

    id: str
    lease_token: str
    event_id: str  # the webhook-id
    event_type: str
    endpoint_id: str
    org_id: str
    job_id: str | None
    sequence: int
    attempt: int  # this attempt's number, from 1
    url: str
    headers: Mapping[str, str]
    secrets: tuple[str, ...]  # the current secret, then one in its rotation grace period
    rate_limit: int | None
    body: bytes
    event_created_at: float
    claimed_at: float  # time.monotonic() in the claiming process, when the lease began


@dataclass(slots=True)
class AttemptRecord:
    """One attempt's outcome and what to do next, as the dispatcher decided it."""

    delivery: ClaimedDelivery
    verdict: Verdict
    status_code: int | None = None
    latency_ms: float | None = None
    response_body: str | None = None
    error: str | None = None
    retry_in: float | None = None  # seconds, for "retry"
    reason: str | None = None  # for "failed" and "disable"
    error_detail: str | None = None
    # Made when the attempt ends, not when it is written: a write tried again after
    # its commit's answer was lost inserts the same row, which the log then ignores.
    id: str = field(default_factory=lambda: new_id("att"))


@dataclass(frozen=True)
class Backlog:
    due: int
    oldest_pending_age: float


# -- what the portal shows ------------------------------------------------------------


@dataclass(frozen=True)
class EndpointHealth:
    attempts: int
    succeeded: int
    last_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.attempts if self.attempts else None


NO_ATTEMPTS = EndpointHealth(0, 0, None, None, None)


@dataclass(frozen=True)
class RecentDelivery:
    id: str
    message_id: str
    event_type: str
    job_id: str | None
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: float
    updated_at: float


# A message's state in the portal's log, from its deliveries (worst first): one gave up
# ("failed"), one will retry after a failed attempt ("failing"), one waits for its first
# attempt ("pending"), every one got a 2xx ("succeeded"). None: no endpoint was subscribed.
MESSAGE_STATUSES = ("succeeded", "failing", "failed", "pending")


@dataclass(frozen=True)
class LoggedMessage:
    """A line of the portal's message log: the event and its state (``MESSAGE_STATUSES``)."""

    event: Event
    status: str | None


@dataclass(frozen=True)
class HourOfAttempts:
    """One hour's attempts to an endpoint (``start``: epoch seconds, on the hour, UTC)."""

    start: float
    succeeded: int
    failed: int


@dataclass(frozen=True)
class DeliveryHealth:
    """An endpoint's attempts per hour over a window, and its response times (ms)."""

    since: float  # the first hour shown
    until: float  # the end of the last hour shown
    hours: tuple[HourOfAttempts, ...]  # only hours with attempts, oldest first
    p50_ms: float | None
    p99_ms: float | None
    timed: int  # the attempts whose response time the percentiles cover


@dataclass(frozen=True)
class PortalLink:
    id: str
    org_id: str
    expires_at: float


@dataclass(frozen=True)
class PortalSession:
    id: str
    org_id: str
    expires_at: float


# -- the webhook API's idempotency keys -----------------------------------------------


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str = field(repr=False)  # JSON text as sent; it may hold a secret
