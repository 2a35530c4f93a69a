"""HTML forms to and from the API's own request models (the same validation rules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from pagewire.api.webhook_schemas import EndpointIn
from pagewire.errors import InvalidRequest
from pagewire.kernel.timefmt import parse_time
from pagewire.models import EVENT_TYPES, Endpoint

# The types a person subscribes to (webhook.test reaches an endpoint whatever it chose).
SUBSCRIBABLE = tuple(t for t in EVENT_TYPES if t != "webhook.test")


@dataclass
class EndpointForm:
    """What the add/edit form shows: the values typed so far and what is wrong with them."""

    url: str = ""
    description: str = ""
    event_types: list[str] = field(default_factory=list)  # empty: every type
    headers: str = ""  # "Name: value", one per line
    rate_limit: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, endpoint: Endpoint) -> EndpointForm:
        return cls(
            url=endpoint.url,
            description=endpoint.description or "",
            event_types=list(endpoint.event_types or []),
            headers="\n".join(f"{k}: {v}" for k, v in endpoint.headers.items()),
            rate_limit=str(endpoint.rate_limit or ""),
        )

    @classmethod
    def read(cls, form: FormData) -> EndpointForm:
        return cls(
            url=str(form.get("url", "")).strip(),
            description=str(form.get("description", "")).strip(),
            event_types=[str(v) for v in form.getlist("event_types")],
            headers=str(form.get("headers", "")),
            rate_limit=str(form.get("rate_limit", "")).strip(),
        )

    def validated(self) -> EndpointIn | None:
        """The API's model of this form, or None with ``errors`` filled in."""
        fields: dict[str, Any] = {
            "url": self.url,
            "description": self.description or None,
            "event_types": self.event_types or None,
            "rate_limit": self.rate_limit or None,
        }
        try:
            fields["headers"] = parse_headers(self.headers)
        except ValueError as bad_headers:
            self.errors["headers"] = str(bad_headers)
        if not self.url:
            self.errors["url"] = "enter the URL pagewire should POST events to"
        if self.errors:
            return None
        try:
            return EndpointIn.model_validate(fields)
        except ValidationError as invalid:
            for problem in invalid.errors():
                name = str(problem["loc"][0]) if problem["loc"] else "url"
                self.errors.setdefault(name, _readable(problem["msg"]))
        except InvalidRequest as unstorable:  # text the database cannot keep (api.text_rules)
            self.errors[str(unstorable.details.get("field", "url"))] = unstorable.message
        return None


def _readable(message: str) -> str:
    return message.removeprefix("Value error, ")


def parse_headers(text: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise ValueError(f"line {number}: write each header as 'Name: value'")
        headers[name.strip()] = value.strip()
    return headers


def parse_since(text: str) -> float:
    """A ``datetime-local`` value: no zone, so UTC (as the form labels it)."""
    try:
        since = parse_time(text)
    except ValueError:
        since = None
    if since is None:
        raise ValueError("choose a date and time")
    return since


def since_default(now: float, hours: float = 24) -> str:
    return datetime.fromtimestamp(now - hours * 3600, UTC).strftime("%Y-%m-%dT%H:%M")
