"""``client.webhooks``: verify deliveries, manage endpoints, read and resend messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pagewire.client._base import json_body
from pagewire.client._models import ListPage, WebhookEvent, WebhookLink
from pagewire.client._webhook_models import Endpoint, Message
from pagewire.kernel import signing

if TYPE_CHECKING:
    from pagewire.client._async import AsyncPagewire
    from pagewire.client._client import Pagewire

__all__ = ["AsyncWebhooks", "Webhooks", "verify_webhook"]

_UNSET: Any = object()


def verify_webhook(
    body: bytes | str,
    headers: Mapping[str, str],
    secret: str | Sequence[str],
    *,
    now: float | None = None,
    tolerance: int = signing.DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Check a delivery's Standard Webhooks signature and return the parsed event.

    Pass the body exactly as received (bytes, before any JSON parsing) and the
    request's headers. ``secret`` is the endpoint's ``whsec_...`` secret, or a
    list of them while rotating. Raises :class:`WebhookVerificationError` for a
    missing header, a signature that does not match, or a timestamp more than
    ``tolerance`` seconds from ``now`` (default: the current time).
    """
    payload = signing.verify(body, headers, secret, now=now, tolerance=tolerance)
    webhook_id = next((v for k, v in headers.items() if k.lower() in ("webhook-id", "svix-id")), "")
    return WebhookEvent.from_dict(payload, webhook_id=webhook_id)


def _endpoint_path(endpoint_id: str, action: str = "") -> str:
    if not endpoint_id:
        raise ValueError("endpoint_id is empty")
    return f"/webhook/endpoints/{quote(endpoint_id, safe='')}{action}"


def _message_path(message_id: str, action: str = "") -> str:
    if not message_id:
        raise ValueError("message_id is empty")
    return f"/webhook/messages/{quote(message_id, safe='')}{action}"


def _endpoint_body(**fields: Any) -> dict[str, Any]:
    return {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in fields.items() if v is not _UNSET
    }


def _time(value: datetime | str | float | None) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _endpoint_page(body: Any) -> ListPage[Endpoint]:
    return ListPage([Endpoint.from_dict(e) for e in body.get("data", [])], body.get("next_cursor"))


def _message_page(body: Any) -> ListPage[Message]:
    return ListPage([Message.from_dict(m) for m in body.get("data", [])], body.get("next_cursor"))


class _Verify:
    _wall_clock: Callable[[], float]

    def verify(
        self,
        body: bytes | str,
        headers: Mapping[str, str],
        secret: str | Sequence[str],
        *,
        now: float | None = None,
        tolerance: int = signing.DEFAULT_TOLERANCE,
    ) -> WebhookEvent:
        """Check a delivery's signature and return the event; see :func:`verify_webhook`.

        The timestamp is checked against ``now``, by default the client's
        ``wall_clock`` (the current time unless one was injected).
        """
        if now is None:
            now = self._wall_clock()
        return verify_webhook(body, headers, secret, now=now, tolerance=tolerance)


class Webhooks(_Verify):
    """Webhook endpoints and messages of the client's organization: ``client.webhooks``."""

    def __init__(self, client: Pagewire) -> None:
        self._client = client
        self._wall_clock = client._config.wall_clock

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json_body(self._client._request(method, path, **kwargs))

    def create_webhook_link(self) -> WebhookLink:
        """A short-lived link to the webhook portal (endpoints, delivery logs) for your users."""
        return WebhookLink.from_dict(self._json("POST", "/webhook"))

    # -- endpoints ------------------------------------------------------------

    def create_endpoint(
        self,
        url: str,
        *,
        description: str | None = _UNSET,
        event_types: Sequence[str] | None = _UNSET,
        headers: Mapping[str, str] | None = _UNSET,
        rate_limit: int | None = _UNSET,
    ) -> Endpoint:
        """Subscribe ``url`` (all event types unless ``event_types`` narrows them).

        The returned endpoint carries its signing ``secret``.
        """
        body = _endpoint_body(
            url=url,
            description=description,
            event_types=event_types,
            headers=headers,
            rate_limit=rate_limit,
        )
        return Endpoint.from_dict(self._json("POST", "/webhook/endpoints", json=body))

    def list_endpoints(self, *, page_size: int = 50) -> Iterator[Endpoint]:
        """Every endpoint of the organization, newest first (secrets left out)."""
        cursor: str | None = None
        while True:
            params = {"cursor": cursor, "limit": page_size}
            page = _endpoint_page(self._json("GET", "/webhook/endpoints", params=params))
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_endpoint(self, endpoint_id: str) -> Endpoint:
        """One endpoint (its secret left out: see :meth:`get_endpoint_secret`)."""
        return Endpoint.from_dict(self._json("GET", _endpoint_path(endpoint_id)))

    def update_endpoint(
        self,
        endpoint_id: str,
        *,
        url: str = _UNSET,
        description: str | None = _UNSET,
        event_types: Sequence[str] | None = _UNSET,
        headers: Mapping[str, str] | None = _UNSET,
        rate_limit: int | None = _UNSET,
    ) -> Endpoint:
        """Change only the fields given (None clears a field)."""
        body = _endpoint_body(
            url=url,
            description=description,
            event_types=event_types,
            headers=headers,
            rate_limit=rate_limit,
        )
        return Endpoint.from_dict(self._json("PATCH", _endpoint_path(endpoint_id), json=body))

    def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove the endpoint; nothing more is delivered to it."""
        self._client._request("DELETE", _endpoint_path(endpoint_id))

    def get_endpoint_secret(self, endpoint_id: str) -> str:
        """The ``whsec_...`` secret that signs this endpoint's deliveries."""
        return str(self._json("GET", _endpoint_path(endpoint_id, "/secret"))["secret"])

    def rotate_endpoint_secret(self, endpoint_id: str) -> str:
        """A new secret; the old one keeps signing too until its grace period ends."""
        return str(self._json("POST", _endpoint_path(endpoint_id, "/rotate-secret"))["secret"])

    def send_test_event(self, endpoint_id: str) -> str:
        """Send a ``webhook.test`` event to this endpoint; returns the message id."""
        return str(self._json("POST", _endpoint_path(endpoint_id, "/test"))["message_id"])

    def enable_endpoint(self, endpoint_id: str) -> Endpoint:
        """Deliver to the endpoint again (after it was disabled, by you or by failures)."""
        return Endpoint.from_dict(self._json("POST", _endpoint_path(endpoint_id, "/enable")))

    def disable_endpoint(self, endpoint_id: str) -> Endpoint:
        """Stop delivering to the endpoint; its events wait until it is enabled."""
        return Endpoint.from_dict(self._json("POST", _endpoint_path(endpoint_id, "/disable")))

    def recover_endpoint(
        self,
        endpoint_id: str,
        *,
        since: datetime | str | float,
        until: datetime | str | float | None = None,
    ) -> int:
        """Queue again every delivery to this endpoint that failed since ``since``.

        Returns how many deliveries will be sent again.
        """
        path = _endpoint_path(endpoint_id, "/recover")
        body = {"since": _time(since), "until": _time(until)}
        return int(self._json("POST", path, json=body)["requeued"])

    # -- messages -------------------------------------------------------------

    def list_messages(
        self,
        *,
        event_type: str | None = None,
        job_id: str | None = None,
        after: datetime | str | float | None = None,
        before: datetime | str | float | None = None,
        page_size: int = 50,
    ) -> Iterator[Message]:
        """Every matching message (event sent), newest first, page by page.

        ``after`` and ``before`` bound the creation time (ISO 8601, epoch or datetime).
        """
        cursor: str | None = None
        while True:
            params = {
                "type": event_type,
                "job_id": job_id,
                "after": _time(after),
                "before": _time(before),
                "cursor": cursor,
                "limit": page_size,
            }
            page = _message_page(self._json("GET", "/webhook/messages", params=params))
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def get_message(self, message_id: str) -> Message:
        """The message with its deliveries and every attempt."""
        return Message.from_dict(self._json("GET", _message_path(message_id)))

    def resend_message(self, message_id: str, *, endpoint_id: str | None = None) -> int:
        """Deliver the message again, to all its endpoints or one; returns how many.

        The ``webhook-id`` stays the same, so an idempotent receiver ignores it
        if it already processed the event.
        """
        body = {"endpoint_id": endpoint_id} if endpoint_id else None
        return int(self._json("POST", _message_path(message_id, "/resend"), json=body)["requeued"])


class AsyncWebhooks(_Verify):
    """Webhook endpoints and messages of the client's organization: ``client.webhooks``."""

    def __init__(self, client: AsyncPagewire) -> None:
        self._client = client
        self._wall_clock = client._config.wall_clock

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return json_body(await self._client._request(method, path, **kwargs))

    async def create_webhook_link(self) -> WebhookLink:
        """A short-lived link to the webhook portal (endpoints, delivery logs) for your users."""
        return WebhookLink.from_dict(await self._json("POST", "/webhook"))

    async def create_endpoint(
        self,
        url: str,
        *,
        description: str | None = _UNSET,
        event_types: Sequence[str] | None = _UNSET,
        headers: Mapping[str, str] | None = _UNSET,
        rate_limit: int | None = _UNSET,
    ) -> Endpoint:
        """Subscribe ``url``; the returned endpoint carries its signing ``secret``."""
        body = _endpoint_body(
            url=url,
            description=description,
            event_types=event_types,
            headers=headers,
            rate_limit=rate_limit,
        )
        return Endpoint.from_dict(await self._json("POST", "/webhook/endpoints", json=body))

    async def list_endpoints(self, *, page_size: int = 50) -> AsyncIterator[Endpoint]:
        """Every endpoint of the organization, newest first (secrets left out)."""
        cursor: str | None = None
        while True:
            params = {"cursor": cursor, "limit": page_size}
            page = _endpoint_page(await self._json("GET", "/webhook/endpoints", params=params))
            for endpoint in page.data:
                yield endpoint
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def get_endpoint(self, endpoint_id: str) -> Endpoint:
        """One endpoint (its secret left out: see :meth:`get_endpoint_secret`)."""
        return Endpoint.from_dict(await self._json("GET", _endpoint_path(endpoint_id)))

    async def update_endpoint(
        self,
        endpoint_id: str,
        *,
        url: str = _UNSET,
        description: str | None = _UNSET,
        event_types: Sequence[str] | None = _UNSET,
        headers: Mapping[str, str] | None = _UNSET,
        rate_limit: int | None = _UNSET,
    ) -> Endpoint:
        """Change only the fields given (None clears a field)."""
        body = _endpoint_body(
            url=url,
            description=description,
            event_types=event_types,
            headers=headers,
            rate_limit=rate_limit,
        )
        path = _endpoint_path(endpoint_id)
        return Endpoint.from_dict(await self._json("PATCH", path, json=body))

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove the endpoint; nothing more is delivered to it."""
        await self._client._request("DELETE", _endpoint_path(endpoint_id))

    async def get_endpoint_secret(self, endpoint_id: str) -> str:
        """The ``whsec_...`` secret that signs this endpoint's deliveries."""
        return str((await self._json("GET", _endpoint_path(endpoint_id, "/secret")))["secret"])

    async def rotate_endpoint_secret(self, endpoint_id: str) -> str:
        """A new secret; the old one keeps signing too until its grace period ends."""
        path = _endpoint_path(endpoint_id, "/rotate-secret")
        return str((await self._json("POST", path))["secret"])

    async def send_test_event(self, endpoint_id: str) -> str:
        """Send a ``webhook.test`` event to this endpoint; returns the message id."""
        body = await self._json("POST", _endpoint_path(endpoint_id, "/test"))
        return str(body["message_id"])

    async def enable_endpoint(self, endpoint_id: str) -> Endpoint:
        """Deliver to the endpoint again (after it was disabled, by you or by failures)."""
        return Endpoint.from_dict(await self._json("POST", _endpoint_path(endpoint_id, "/enable")))

    async def disable_endpoint(self, endpoint_id: str) -> Endpoint:
        """Stop delivering to the endpoint; its events wait until it is enabled."""
        path = _endpoint_path(endpoint_id, "/disable")
        return Endpoint.from_dict(await self._json("POST", path))

    async def recover_endpoint(
        self,
        endpoint_id: str,
        *,
        since: datetime | str | float,
        until: datetime | str | float | None = None,
    ) -> int:
        """Queue again every delivery to this endpoint that failed since ``since``."""
        path = _endpoint_path(endpoint_id, "/recover")
        body = {"since": _time(since), "until": _time(until)}
        return int((await self._json("POST", path, json=body))["requeued"])

    async def list_messages(
        self,
        *,
        event_type: str | None = None,
        job_id: str | None = None,
        after: datetime | str | float | None = None,
        before: datetime | str | float | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Message]:
        """Every matching message, newest first, as an async iterator."""
        cursor: str | None = None
        while True:
            params = {
                "type": event_type,
                "job_id": job_id,
                "after": _time(after),
                "before": _time(before),
                "cursor": cursor,
                "limit": page_size,
            }
            page = _message_page(await self._json("GET", "/webhook/messages", params=params))
            for message in page.data:
                yield message
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def get_message(self, message_id: str) -> Message:
        """The message with its deliveries and every attempt."""
        return Message.from_dict(await self._json("GET", _message_path(message_id)))

    async def resend_message(self, message_id: str, *, endpoint_id: str | None = None) -> int:
        """Deliver the message again (same ``webhook-id``), to all its endpoints or one."""
        body = {"endpoint_id": endpoint_id} if endpoint_id else None
        path = _message_path(message_id, "/resend")
        return int((await self._json("POST", path, json=body))["requeued"])
