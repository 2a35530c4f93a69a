"""Typed results of the webhook management API: endpoints, messages, deliveries, attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pagewire.client._models import parse_time

__all__ = ["Attempt", "Delivery", "Endpoint", "EventType", "Message"]


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


@dataclass(frozen=True)
class Endpoint:
    """A URL that receives signed events.

    ``secret`` is filled in only when the API returns it (at creation); read it
    later with ``client.webhooks.get_endpoint_secret(endpoint_id)``.
    """

    id: str
    url: str
    description: str | None = None
    event_types: list[str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    rate_limit: int | None = None
    enabled: bool = True
    disabled_reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    secret: str | None = field(default=None, repr=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> Endpoint:
        data = _dict(data)
        enabled = data.get("enabled", True)
        return cls(
            id=str(data.get("id", "")),
            url=str(data.get("url", "")),
            description=data.get("description"),
            event_types=data.get("event_types"),
            headers=_dict(data.get("headers")),
            rate_limit=data.get("rate_limit"),
            enabled=bool(enabled),
            disabled_reason=data.get("disabled_reason"),
            created_at=parse_time(data.get("created_at")),
            updated_at=parse_time(data.get("updated_at")),
            secret=data.get("secret"),
            raw=data,
        )


@dataclass(frozen=True)
class Attempt:
    """One try at delivering a message to an endpoint."""

    id: str
    created_at: datetime | None = None
    status_code: int | None = None
    latency_ms: float | None = None
    response_body: str | None = None
    error: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> Attempt:
        data = _dict(data)
        return cls(
            id=str(data.get("id", "")),
            created_at=parse_time(data.get("created_at")),
            status_code=data.get("status_code"),
            latency_ms=data.get("latency_ms"),
            response_body=data.get("response_body"),
            error=data.get("error"),
        )


@dataclass(frozen=True)
class Delivery:
    """A message on its way to one endpoint: ``pending``, ``succeeded`` or ``failed``."""

    id: str
    endpoint_id: str
    status: str
    attempt_count: int = 0
    next_attempt_at: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = None
    attempts: list[Attempt] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> Delivery:
        data = _dict(data)
        listed = data.get("attempts") or []
        return cls(
            id=str(data.get("id", "")),
            endpoint_id=str(data.get("endpoint_id", "")),
            status=str(data.get("status", "")),
            attempt_count=int(data.get("attempt_count") or len(listed)),
            next_attempt_at=parse_time(data.get("next_attempt_at")),
            last_status_code=data.get("last_status_code"),
            last_error=data.get("last_error"),
            created_at=parse_time(data.get("created_at")),
            finished_at=parse_time(data.get("finished_at")),
            attempts=[Attempt.from_dict(a) for a in listed],
            raw=data,
        )


@dataclass(frozen=True)
class Message:
    """An event as sent: its ``id`` is the ``webhook-id`` every delivery of it carries."""

    id: str
    type: str
    job_id: str | None = None
    sequence: int = 0
    payload: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        data = _dict(data)
        return cls(
            id=str(data.get("id", "")),
            type=str(data.get("type") or data.get("event_type") or ""),
            job_id=data.get("job_id"),
            sequence=int(data.get("sequence") or 0),
            payload=_dict(data.get("payload")),
            created_at=parse_time(data.get("created_at")),
            deliveries=[Delivery.from_dict(d) for d in data.get("deliveries") or []],
            raw=data,
        )


@dataclass(frozen=True)
class EventType:
    """An event type pagewire sends: what it means, its payload's JSON Schema, an example."""

    type: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=dict, repr=False)
    example: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> EventType:
        data = _dict(data)
        return cls(
            type=str(data.get("type", "")),
            description=str(data.get("description") or ""),
            schema=_dict(data.get("schema")),
            example=_dict(data.get("example")),
        )
