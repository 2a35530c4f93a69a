"""Typed results: frozen dataclasses built from the API's JSON.

Each keeps the JSON it was built from in ``raw``, so a field the server added
after this SDK was released is still there to read. Fields the API may leave
out get a default; an unknown enum value is kept as the string it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pagewire.client._pages import Chunk, Page
from pagewire.client._raw import RawMapping

__all__ = [
    "FINAL_STATUSES",
    "Job",
    "JobAudit",
    "JobError",
    "JobInput",
    "JobResult",
    "JobStatus",
    "JobSubmission",
    "ListPage",
    "Progress",
    "ResultLink",
    "WebhookEvent",
    "WebhookLink",
    "parse_time",
]

JobStatus = Literal["pending", "processing", "completed", "failed", "canceled", "expired"]
FINAL_STATUSES: frozenset[str] = frozenset({"completed", "failed", "canceled", "expired"})

T = TypeVar("T")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time (``2026-11-28T22:40:05.123Z``) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Progress:
    pages_done: int = 0
    pages_total: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Progress:
        data = _dict(data)
        return cls(int(data.get("pages_done") or 0), data.get("pages_total"))

    @property
    def fraction(self) -> float | None:
        """Done as a fraction of 1, or None while the page count is unknown."""
        if not self.pages_total:
            return None
        return min(1.0, self.pages_done / self.pages_total)


@dataclass(frozen=True)
class JobInput:
    file_name: str | None = None
    file_url: str | None = None
    media_type: str | None = None
    sha256: str | None = None
    size: int | None = None
    pages: int | None = None

    @classmethod
    def from_dict(cls, data: Any) -> JobInput:
        data = _dict(data)
        return cls(
            file_name=data.get("file_name"),
            file_url=data.get("file_url"),
            media_type=data.get("media_type"),
            sha256=data.get("sha256"),
            size=data.get("size"),
            pages=data.get("pages"),
        )


@dataclass(frozen=True)
class JobError:
    """Why a job failed: a stable ``code`` to branch on and a ``message`` for people."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> JobError:
        data = _dict(data)
        extra = {k: v for k, v in data.items() if k not in ("code", "message")}
        return cls(str(data.get("code", "")), str(data.get("message", "")), extra)


@dataclass(frozen=True)
class ResultLink:
    """A result too large to inline: fetch it with ``client.jobs.get_result(job_id)``."""

    url: str
    size: int | None = None


@dataclass(frozen=True)
class JobResult:
    """What extraction produced (the full shape is in docs/extraction.md).

    ``pages`` and ``chunks`` are typed (:class:`Page`, :class:`Chunk`); each also
    reads as its JSON (``page["markdown"]``), and ``raw`` is the result's own dict.
    """

    markdown: str
    page_count: int
    pages: list[Page] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks: list[Chunk] | None = None
    html: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> JobResult:
        data = _dict(data)
        return cls(
            markdown=str(data.get("markdown") or ""),
            page_count=int(data.get("page_count") or 0),
            pages=[Page.from_dict(page) for page in data.get("pages") or []],
            warnings=list(data.get("warnings") or []),
            chunks=(
                [Chunk.from_dict(chunk) for chunk in data["chunks"]]
                if isinstance(data.get("chunks"), list)
                else None
            ),
            html=data.get("html"),
            raw=data,
        )


def _result(data: Any) -> JobResult | ResultLink | None:
    if not isinstance(data, dict):
        return None
    if data.get("is_url"):
        return ResultLink(url=str(data.get("url", "")), size=data.get("size"))
    return JobResult.from_dict(data)


@dataclass(frozen=True)
class Job:
    """A job as ``GET /job/{job_id}`` reports it: the truth a webhook only announces."""

    job_id: str
    status: JobStatus
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: Progress = field(default_factory=Progress)
    attempts: int = 0
    cancel_requested: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    input: JobInput = field(default_factory=JobInput)
    result: JobResult | ResultLink | None = None
    error: JobError | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # What the response that brought this job said about the request, not about the job:
    # its ``x-request-id`` (quote it in a support request), and on the job
    # ``extract(async_=False)`` returns, the fields the submission had that were ignored.
    request_id: str | None = field(default=None, compare=False)
    submission_warnings: list[str] = field(default_factory=list, compare=False)

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        request_id: str | None = None,
        submission_warnings: list[str] | None = None,
    ) -> Job:
        data = _dict(data)
        return cls(
            job_id=str(data.get("job_id", "")),
            status=data.get("status", "pending"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            started_at=parse_time(data.get("started_at")),
            finished_at=parse_time(data.get("finished_at")),
            progress=Progress.from_dict(data.get("progress")),
            attempts=int(data.get("attempts") or 0),
            cancel_requested=bool(data.get("cancel_requested")),
            metadata=_dict(data.get("metadata")),
            options=_dict(data.get("options")),
            input=JobInput.from_dict(data.get("input")),
            result=_result(data.get("result")),
            error=JobError.from_dict(data["error"]) if data.get("error") else None,
            raw=data,
            request_id=request_id,
            submission_warnings=list(submission_warnings or []),
        )

    @property
    def is_final(self) -> bool:
        """True once the job will not change again (completed, failed, canceled, expired)."""
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class JobSubmission:
    """The answer to an asynchronous ``extract``: the job exists, its result will follow.

    ``replayed`` is True when the idempotency key matched an earlier submission,
    so this is that job rather than a new one. ``warnings`` names what the request
    asked that pagewire ignored (an unknown field such as ``pagse``: a typo to fix);
    ``request_id`` is the response's ``x-request-id``.
    """

    job_id: str
    status: JobStatus
    url: str | None = None
    replayed: bool = False
    file_name: str | None = None  # in a batch, which document this job reads
    warnings: list[str] = field(default_factory=list)
    request_id: str | None = field(default=None, compare=False)

    @classmethod
    def from_dict(
        cls,
        data: Any,
        *,
        replayed: bool = False,
        warnings: list[str] | None = None,
        request_id: str | None = None,
    ) -> JobSubmission:
        data = _dict(data)
        return cls(
            job_id=str(data.get("job_id", "")),
            status=data.get("status", "pending"),
            url=data.get("url"),
            replayed=replayed,
            file_name=data.get("file_name"),
            warnings=list(data.get("warnings") or warnings or []),
            request_id=request_id,
        )


@dataclass(frozen=True)
class JobAudit:
    """Who submitted a job, and how (``GET /job/{job_id}/audit``), kept as long as the job.

    ``key_id`` is the API key's id (never the key), ``ip`` the client's address as
    the server saw it, ``request_id`` the ``x-request-id`` of the request that
    submitted the job (as in the JSON: not this response's).
    """

    job_id: str
    created_at: datetime | None = None
    key_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> JobAudit:
        data = _dict(data)
        return cls(
            job_id=str(data.get("job_id", "")),
            created_at=parse_time(data.get("created_at")),
            key_id=data.get("key_id"),
            ip=data.get("ip"),
            user_agent=data.get("user_agent"),
            request_id=data.get("request_id"),
            metadata=_dict(data.get("metadata")),
            raw=data,
        )


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list endpoint; pass ``next_cursor`` back for the next (None: last page).
    ``request_id`` is the response's ``x-request-id`` (quote it when asking support)."""

    data: list[T]
    next_cursor: str | None = None
    request_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class WebhookLink:
    """A short-lived link to the webhook portal for the caller's organization."""

    link: str
    expires_at: datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> WebhookLink:
        data = _dict(data)
        return cls(str(data.get("link", "")), parse_time(data.get("expires_at")), data)


@dataclass(frozen=True, eq=False)
class WebhookEvent(RawMapping):
    """A verified webhook: ``id`` is the ``webhook-id`` header, the same on every redelivery.

    Use ``id`` to make processing idempotent, and read the job itself
    (``client.jobs.get_job(job_id=event.job_id)``) before writing anything: the
    event only says that something happened.

    It is also a read-only mapping of the payload, as the ``svix`` and
    ``standardwebhooks`` libraries return it: ``event["type"]``,
    ``event.get("data", {}).get("job_id")``, equal to the payload's dict;
    ``event.raw`` is that dict (for ``json.dumps``).
    """

    id: str
    type: str
    timestamp: datetime | None
    data: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any, *, webhook_id: str) -> WebhookEvent:
        data = _dict(data)
        return cls(
            id=webhook_id,
            type=str(data.get("type", "")),
            timestamp=parse_time(data.get("timestamp")),
            data=_dict(data.get("data")),
            raw=data,
        )

    @property
    def job_id(self) -> str | None:
        value = self.data.get("job_id")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> str | None:
        value = self.data.get("status")
        return value if isinstance(value, str) else None

    @property
    def sequence(self) -> int | None:
        value = self.data.get("sequence")
        return value if isinstance(value, int) else None

    @property
    def metadata(self) -> dict[str, Any]:
        return _dict(self.data.get("metadata"))
