"""``client.webhooks`` of ``AsyncPagewire``: verify deliveries, manage endpoints, read messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pagewire.client._base import time_param
from pagewire.client._models import WebhookLink
from pagewire.client._verify import WebhookVerifier
from pagewire.client._webhook_models import Endpoint, EventType, Message
from pagewire.client._webhooks_base import UNSET, endpoint_body, endpoint_path, message_path

if TYPE_CHECKING:
    from pagewire.client._async.client import AsyncPagewire

__all__ = ["AsyncWebhooks"]


class AsyncWebhooks(WebhookVerifier):
    """Webhook endpoints and messages of the client's organization: ``client.webhooks``."""

    def __init__(self, client: AsyncPagewire) -> None:
        self._client = client
        self._json = client._json
        self._wall_clock = client._config.wall_clock

    async def create_webhook_link(self) -> WebhookLink:
        """A short-lived link to the webhook portal (endpoints, delivery logs) for your users."""
        return WebhookLink.from_dict(await self._json("POST", "/webhook"))

    # -- endpoints ------------------------------------------------------------

    async def create_endpoint(
        self,
        url: str,
        *,
        description: str | None = UNSET,
        event_types: Sequence[str] | None = UNSET,
        headers: Mapping[str, str] | None = UNSET,
        rate_limit: int | None = UNSET,
    ) -> Endpoint:
        """Subscribe ``url`` (all event types unless ``event_types`` narrows them).

        The returned endpoint carries its signing ``secret``.
        """
        body = endpoint_body(
            url=url,
            description=description,
            event_types=event_types,
            headers=headers,
            rate_limit=rate_limit,
        )
        return Endpoint.from_dict(await self._json("POST", "/webhook/endpoints", json=body))

    def list_endpoints(self, *, page_size: int = 50) -> AsyncIterator[Endpoint]:
        """Every endpoint of the organization, newest first (secrets left out)."""
        params = {"limit": page_size}
        return self._client._paginate("/webhook/endpoints", params, Endpoint.from_dict)

    async def get_endpoint(self, endpoint_id: str) -> Endpoint:
        """One endpoint (its secret left out: see :meth:`get_endpoint_secret`)."""
        return Endpoint.from_dict(await self._json("GET", endpoint_path(endpoint_id)))

    async def update_endpoint(
        self,
        endpoint_id: str,
        *,
        url: str = UNSET,
        description: str | None = UNSET,
        event_types: Sequence[str] | None = UNSET,
        headers: Mapping[str, str] | None = UNSET,
        rate_limit: int | None = UNSET,
    ) -> Endpoint:
        """Change only the fields given (None clears a field)."""
        body = endpoint_body(
            url=url,
            description=description,
            event_types=event_types,
            headers=headers,
            rate_limit=rate_limit,
        )
        return Endpoint.from_dict(await self._json("PATCH", endpoint_path(endpoint_id), json=body))

    async def delete_endpoint(self, endpoint_id: str) -> None:
        """Remove the endpoint; nothing more is delivered to it."""
        await self._client._request("DELETE", endpoint_path(endpoint_id))

    async def get_endpoint_secret(self, endpoint_id: str) -> str:
        """The ``whsec_...`` secret that signs this endpoint's deliveries."""
        body = await self._json("GET", endpoint_path(endpoint_id, "/secret"))
        return str(body["secret"])

    async def rotate_endpoint_secret(self, endpoint_id: str) -> str:
        """A new secret; the old one keeps signing too until its grace period ends."""
        body = await self._json("POST", endpoint_path(endpoint_id, "/rotate-secret"))
        return str(body["secret"])

    async def send_test_event(self, endpoint_id: str, event_type: str | None = None) -> str:
        """Send a test event to this endpoint only; returns the message id.

        Without ``event_type`` it is a ``webhook.test``; with one (``"job.completed"``)
        it is that type's example payload from :meth:`list_event_types`, marked
        ``data.test = true``.
        """
        body = {"event_type": event_type} if event_type else None
        answer = await self._json("POST", endpoint_path(endpoint_id, "/test"), json=body)
        return str(answer["message_id"])

    async def enable_endpoint(self, endpoint_id: str) -> Endpoint:
        """Deliver to the endpoint again (after it was disabled, by you or by failures)."""
        return Endpoint.from_dict(await self._json("POST", endpoint_path(endpoint_id, "/enable")))

    async def disable_endpoint(self, endpoint_id: str) -> Endpoint:
        """Stop delivering to the endpoint; its events wait until it is enabled."""
        return Endpoint.from_dict(await self._json("POST", endpoint_path(endpoint_id, "/disable")))

    async def recover_endpoint(
        self,
        endpoint_id: str,
        *,
        since: datetime | str | float,
        until: datetime | str | float | None = None,
    ) -> int:
        """Queue again every delivery to this endpoint that failed since ``since``.

        Returns how many deliveries will be sent again.
        """
        body = {"since": time_param(since), "until": time_param(until)}
        answer = await self._json("POST", endpoint_path(endpoint_id, "/recover"), json=body)
        return int(answer["requeued"])

    async def list_event_types(self) -> list[EventType]:
        """Every event type pagewire sends, with its payload's JSON Schema and an example."""
        body = await self._json("GET", "/webhook/event-types")
        return [EventType.from_dict(e) for e in body.get("data") or []]

    # -- messages -------------------------------------------------------------

    def list_messages(
        self,
        *,
        event_type: str | None = None,
        job_id: str | None = None,
        after: datetime | str | float | None = None,
        before: datetime | str | float | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Message]:
        """Every matching message (event sent), newest first, page by page.

        ``after`` and ``before`` bound the creation time (ISO 8601, epoch or datetime).
        """
        params = {
            "type": event_type,
            "job_id": job_id,
            "after": time_param(after),
            "before": time_param(before),
            "limit": page_size,
        }
        return self._client._paginate("/webhook/messages", params, Message.from_dict)

    async def get_message(self, message_id: str) -> Message:
        """The message with its deliveries and every attempt."""
        return Message.from_dict(await self._json("GET", message_path(message_id)))

    async def resend_message(self, message_id: str, *, endpoint_id: str | None = None) -> int:
        """Deliver the message again, to all its endpoints or one; returns how many.

        The ``webhook-id`` stays the same, so an idempotent receiver ignores it
        if it already processed the event.
        """
        body = {"endpoint_id": endpoint_id} if endpoint_id else None
        answer = await self._json("POST", message_path(message_id, "/resend"), json=body)
        return int(answer["requeued"])
