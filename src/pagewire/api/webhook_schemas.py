"""Request and response shapes of the webhook routes (endpoints and messages)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from pagewire.api.text_rules import check_text
from pagewire.kernel.timefmt import iso
from pagewire.models import EVENT_TYPES, Attempt, Delivery, Endpoint, Event

MAX_HEADERS = 20
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Headers the dispatcher sets itself, or that HTTP gives a meaning no endpoint may change.
_RESERVED = {"content-type", "content-length", "host", "user-agent", "connection"}
_RESERVED_PREFIXES = ("webhook-", "svix-", "transfer-", "proxy-")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed in a header value


def _event_types(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    if not value:
        raise ValueError("give at least one event type, or null for every type")
    unknown = [v for v in value if v not in EVENT_TYPES]
    if unknown:
        raise ValueError(f"unknown event type(s) {unknown}; known: {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(value))


def _headers(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if len(value) > MAX_HEADERS:
        raise ValueError(f"at most {MAX_HEADERS} custom headers")
    for name, text in value.items():
        lowered = name.lower()
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a valid header name")
        if lowered in _RESERVED or lowered.startswith(_RESERVED_PREFIXES):
            raise ValueError(f"the {name} header is set by pagewire and cannot be changed")
        if len(text) > 1000 or _CONTROL.search(text):
            raise ValueError(
                f"the {name} header's value is too long or has line breaks or control characters"
            )
    return value


def _storable(field: str) -> Any:
    """A before-validator refusing text the database cannot keep (``text_rules``): it runs
    ahead of pydantic's own checks, which would refuse a lone surrogate less clearly."""

    def check(cls: Any, value: Any) -> Any:
        if isinstance(value, str):
            check_text(field, value)
        elif isinstance(value, dict):
            for key, inner in value.items():
                check_text(field, str(key))
                if isinstance(inner, str):
                    check_text(field, inner)
        return value

    return field_validator(field, mode="before")(check)


class EndpointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=2000)
    description: str | None = Field(None, max_length=500)
    event_types: list[str] | None = Field(None, description="null: every event type")
    headers: dict[str, str] | None = Field(None, description="sent with every delivery")
    rate_limit: int | None = Field(None, ge=1, le=10_000, description="deliveries per second")

    _types = field_validator("event_types")(_event_types)
    _head = field_validator("headers")(_headers)
    _url_text = _storable("url")
    _description_text = _storable("description")
    _header_text = _storable("headers")


class EndpointPatch(BaseModel):
    """Only the fields sent change; ``null`` clears an optional one."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, max_length=2000)
    description: str | None = Field(None, max_length=500)
    event_types: list[str] | None = None
    headers: dict[str, str] | None = None
    rate_limit: int | None = Field(None, ge=1, le=10_000)

    _types = field_validator("event_types")(_event_types)
    _head = field_validator("headers")(_headers)
    _url_text = _storable("url")
    _description_text = _storable("description")
    _header_text = _storable("headers")


class EndpointOut(BaseModel):
    id: str
    url: str
    description: str | None
    event_types: list[str] | None
    headers: dict[str, str]
    rate_limit: int | None
    enabled: bool
    disabled_reason: str | None
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointOut:
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            description=endpoint.description,
            event_types=list(endpoint.event_types) if endpoint.event_types is not None else None,
            headers=endpoint.headers,
            rate_limit=endpoint.rate_limit,
            enabled=endpoint.enabled,
            disabled_reason=endpoint.disabled_reason,
            created_at=iso(endpoint.created_at) or "",
            updated_at=iso(endpoint.updated_at) or "",
        )


class EndpointCreated(EndpointOut):
    secret: str = Field(description="whsec_...: verify deliveries with it")


class EndpointList(BaseModel):
    data: list[EndpointOut]
    next_cursor: str | None


class SecretOut(BaseModel):
    secret: str


class RecoverIn(BaseModel):
    since: str | float = Field(description="RFC 3339 time (no zone: UTC) or epoch seconds")
    until: str | float | None = None


class Requeued(BaseModel):
    requeued: int = Field(description="how many deliveries will be sent again")


class TestSent(BaseModel):
    message_id: str


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str = Field(
        "webhook.test", description="send this type's example payload (GET /webhook/event-types)"
    )


class EventTypeOut(BaseModel):
    type: str
    description: str
    schema_: dict[str, Any] = Field(alias="schema", description="JSON Schema of the payload")
    example: dict[str, Any] = Field(description="an example payload, valid against the schema")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class EventTypeList(BaseModel):
    data: list[EventTypeOut]


class ResendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_id: str | None = Field(None, description="only to this endpoint (default: all)")

    _endpoint_text = _storable("endpoint_id")


class MessageOut(BaseModel):
    id: str
    type: str
    job_id: str | None
    sequence: int
    payload: dict[str, Any]
    created_at: str

    @classmethod
    def of(cls, event: Event) -> MessageOut:
        return cls(
            id=event.id,
            type=event.type,
            job_id=event.job_id,
            sequence=event.sequence,
            payload=event.payload,
            created_at=iso(event.created_at) or "",
        )


class MessageList(BaseModel):
    data: list[MessageOut]
    next_cursor: str | None


class AttemptOut(BaseModel):
    id: str
    created_at: str
    status_code: int | None
    latency_ms: float | None
    response_body: str | None = Field(description="the first 4 KB")
    error: str | None = Field(
        description="when no answer came, what happened in words (connection refused...)"
    )
    error_detail: str | None = Field(
        None, description="the HTTP library's own text for that error, for a bug report"
    )

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        return cls(
            id=attempt.id,
            created_at=iso(attempt.created_at) or "",
            status_code=attempt.status_code,
            latency_ms=attempt.latency_ms,
            response_body=attempt.response_body,
            error=attempt.error,
            error_detail=attempt.error_detail,
        )


class DeliveryOut(BaseModel):
    id: str
    endpoint_id: str
    status: str = Field(description="pending, succeeded or failed (gave up)")
    attempt_count: int
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    created_at: str
    finished_at: str | None
    attempts: list[AttemptOut]

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.id,
            endpoint_id=delivery.endpoint_id,
            status=delivery.status,
            attempt_count=delivery.attempts,
            next_attempt_at=iso(delivery.next_attempt_at),
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            created_at=iso(delivery.created_at) or "",
            finished_at=iso(delivery.finished_at),
            attempts=[AttemptOut.of(a) for a in delivery.attempt_log],
        )


class MessageDetail(MessageOut):
    deliveries: list[DeliveryOut]
