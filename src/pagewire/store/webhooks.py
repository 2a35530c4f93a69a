"""Webhook endpoints: the API's and the portal's side of the outbox.

Endpoints are scoped by organization (another organization's endpoint is a
NotFound). Their secrets and custom header values are sealed
(:mod:`pagewire.security.encryption`) before they are written and opened when read: the
database never holds them in plaintext. ``WebhookStore`` also reads and resends messages (inherited from
:class:`~pagewire.store.messages.MessageStore`); the dispatcher's side
(claiming and recording attempts) is :mod:`pagewire.store.deliveries`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.errors import InvalidRequest, NotFound
from pagewire.events import endpoint_disabled_payload, example_payload
from pagewire.ids import new_id
from pagewire.kernel.signing import generate_secret
from pagewire.models import EVENT_TYPES, Endpoint, ListPage, NewEvent
from pagewire.security.encryption import SecretBox, header_context, secret_context
from pagewire.store import outbox
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.messages import MessageStore, cursor_after, requeue

E = t.endpoints.c
D = t.deliveries.c
V = t.events.c
A = t.attempts.c

# Fields an endpoint update may change (the rest belong to rotation and health).
UPDATABLE = frozenset({"url", "description", "event_types", "headers", "rate_limit"})


def sealed_headers(box: SecretBox, endpoint_id: str, headers: dict[str, str]) -> dict[str, str]:
    """Header names stay readable; each value is sealed, bound to its endpoint and name."""
    return {
        name: box.seal(value, header_context(endpoint_id, name)) for name, value in headers.items()
    }


def opened_headers(box: SecretBox, endpoint_id: str, headers: dict[str, str]) -> dict[str, str]:
    return {
        name: box.open(value, header_context(endpoint_id, name)) for name, value in headers.items()
    }


def endpoint_from_row(row: Any, box: SecretBox) -> Endpoint:
    m = row._mapping
    context = secret_context(m["id"])
    return Endpoint(
        id=m["id"],
        org_id=m["org_id"],
        url=m["url"],
        description=m["description"],
        event_types=tuple(m["event_types"]) if m["event_types"] is not None else None,
        headers=opened_headers(box, m["id"], dict(m["headers"] or {})),
        rate_limit=m["rate_limit"],
        enabled=bool(m["enabled"]),
        disabled_reason=m["disabled_reason"],
        secret=box.open(m["secret"], context),
        previous_secret=box.open_optional(m["previous_secret"], context),
        previous_secret_expires_at=m["previous_secret_expires_at"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


async def disable_endpoint(
    db: Database, conn: AsyncConnection, endpoint: Endpoint, reason: str, *, announce: bool
) -> None:
    """Disable in the caller's transaction; its pending deliveries fail with the reason.

    ``announce`` sends ``endpoint.disabled`` to the organization's other endpoints
    (automatic disabling: 410 Gone, or failing for too long).
    """
    now = db.now()
    await conn.execute(
        t.endpoints.update()
        .where(E.id == endpoint.id)
        .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
    )
    await conn.execute(
        t.deliveries.update()
        .where(D.endpoint_id == endpoint.id, D.status == "pending")
        .values(
            status="failed",
            last_error=f"endpoint disabled: {reason}",
            lease_token=None,
            lease_expires_at=None,
            finished_at=now,
            updated_at=now,
        )
    )
    if announce:
        at = float((await conn.execute(sa.select(now))).scalar_one())
        payload = endpoint_disabled_payload(endpoint.id, endpoint.url, reason, at=at)
        await outbox.append(
            db,
            conn,
            [NewEvent(org_id=endpoint.org_id, type="endpoint.disabled", payload=payload)],
            now=at,
        )


class WebhookStore(MessageStore):
    """Endpoints (this class) and messages (:class:`MessageStore`) of each organization."""

    def __init__(self, db: Database, box: SecretBox) -> None:
        super().__init__(db)
        self.box = box

    # -- endpoints ----------------------------------------------------------

    async def create_endpoint(
        self,
        org_id: str,
        url: str,
        *,
        description: str | None = None,
        event_types: Sequence[str] | None = None,
        headers: dict[str, str] | None = None,
        rate_limit: int | None = None,
    ) -> Endpoint:
        now = self.db.now()
        endpoint_id = new_id("ep")
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    t.endpoints.insert()
                    .values(
                        id=endpoint_id,
                        org_id=org_id,
                        url=url,
                        description=description,
                        event_types=list(event_types) if event_types is not None else None,
                        headers=sealed_headers(self.box, endpoint_id, headers or {}),
                        rate_limit=rate_limit,
                        enabled=True,
                        secret=self.box.seal(generate_secret(), secret_context(endpoint_id)),
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(t.endpoints)
                )
            ).one()
        return endpoint_from_row(row, self.box)

    async def get_endpoint(self, org_id: str, endpoint_id: str) -> Endpoint:
        async with self.db.read() as conn:
            return await self._endpoint(conn, org_id, endpoint_id)

    async def _endpoint(self, conn: AsyncConnection, org_id: str, endpoint_id: str) -> Endpoint:
        row = (
            await conn.execute(
                sa.select(t.endpoints).where(E.id == endpoint_id, E.org_id == org_id)
            )
        ).first()
        if row is None:
            raise NotFound(f"no webhook endpoint {endpoint_id}")
        return endpoint_from_row(row, self.box)

    async def _updated(self, conn: AsyncConnection, endpoint_id: str, **values: Any) -> Endpoint:
        """Set ``values`` on the endpoint (checked by the caller) and return it as now stored."""
        row = (
            await conn.execute(
                t.endpoints.update()
                .where(E.id == endpoint_id)
                .values(**values)
                .returning(t.endpoints)
            )
        ).one()
        return endpoint_from_row(row, self.box)

    async def list_endpoints(
        self, org_id: str, *, cursor: str | None = None, limit: int = 50
    ) -> ListPage[Endpoint]:
        """Newest first; ``next_cursor`` is the last id of this page."""
        query = sa.select(t.endpoints).where(E.org_id == org_id)
        if after := cursor_after(cursor, "ep"):
            query = query.where(E.id < after)
        async with self.db.read() as conn:
            rows = (await conn.execute(query.order_by(E.id.desc()).limit(limit + 1))).all()
        found = [endpoint_from_row(r, self.box) for r in rows[:limit]]
        return ListPage(found, found[-1].id if len(rows) > limit else None)

    async def update_endpoint(self, org_id: str, endpoint_id: str, **changes: Any) -> Endpoint:
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        if "event_types" in changes and changes["event_types"] is not None:
            changes["event_types"] = list(changes["event_types"])
        if "headers" in changes:
            changes["headers"] = sealed_headers(self.box, endpoint_id, changes["headers"] or {})
        async with self.db.write() as conn:
            await self._endpoint(conn, org_id, endpoint_id)
            return await self._updated(conn, endpoint_id, **changes, updated_at=self.db.now())

    async def delete_endpoint(self, org_id: str, endpoint_id: str) -> None:
        """Deletes the endpoint with its deliveries and attempts (the events stay)."""
        async with self.db.write() as conn:
            await self._endpoint(conn, org_id, endpoint_id)
            await conn.execute(t.endpoints.delete().where(E.id == endpoint_id))

    async def rotate_secret(
        self, org_id: str, endpoint_id: str, *, grace_seconds: float
    ) -> Endpoint:
        """A new secret; the current one keeps signing for ``grace_seconds``.

        Rotating again within the grace period drops the oldest secret: at most
        two ever sign one message.
        """
        now = self.db.now()
        async with self.db.write() as conn:
            await self._endpoint(conn, org_id, endpoint_id)
            return await self._updated(
                conn,
                endpoint_id,
                previous_secret=E.secret,
                previous_secret_expires_at=now + grace_seconds,
                secret=self.box.seal(generate_secret(), secret_context(endpoint_id)),
                updated_at=now,
            )

    async def set_enabled(self, org_id: str, endpoint_id: str, enabled: bool) -> Endpoint:
        """Enable (clears the reason and the failure streak) or disable by hand.

        Disabling fails the endpoint's pending deliveries; ``recover`` re-queues them.
        """
        now = self.db.now()
        async with self.db.write() as conn:
            endpoint = await self._endpoint(conn, org_id, endpoint_id)
            if enabled and not endpoint.enabled:
                await conn.execute(
                    t.endpoints.update()
                    .where(E.id == endpoint_id)
                    .values(
                        enabled=True,
                        disabled_reason=None,
                        disabled_at=None,
                        failing_since=None,
                        updated_at=now,
                    )
                )
            elif not enabled and endpoint.enabled:
                await disable_endpoint(
                    self.db, conn, endpoint, "disabled by a user", announce=False
                )
            return await self._endpoint(conn, org_id, endpoint_id)

    async def send_test(
        self, org_id: str, endpoint_id: str, event_type: str = "webhook.test"
    ) -> str:
        """The catalog's example of ``event_type`` to this endpoint only; returns its message id.

        The payload is the example's, stamped now and marked ``data.test = true``
        (a ``webhook.test`` names this endpoint), signed like any event.
        """
        if event_type not in EVENT_TYPES:
            raise InvalidRequest(
                f"unknown event type {event_type!r}; one of: {', '.join(EVENT_TYPES)}",
                code="unknown_event_type",
            )
        async with self.db.write() as conn:
            endpoint = await self._endpoint(conn, org_id, endpoint_id)
            if not endpoint.enabled:
                raise InvalidRequest(
                    f"webhook endpoint {endpoint_id} is disabled; enable it first",
                    code="endpoint_disabled",
                )
            at = float((await conn.execute(sa.select(self.db.now()))).scalar_one())
            payload = example_payload(event_type, at=at, endpoint_id=endpoint_id)
            payload["data"]["test"] = True
            [event_id] = await outbox.append(
                self.db,
                conn,
                [
                    NewEvent(
                        org_id=org_id,
                        type=event_type,
                        payload=payload,
                        only_endpoint_id=endpoint_id,
                    )
                ],
                now=at,
            )
        return event_id

    async def recover(
        self, org_id: str, endpoint_id: str, *, since: float, until: float | None = None
    ) -> int:
        """Re-queue every delivery to this endpoint that failed for good since ``since``."""
        now = self.db.now()
        async with self.db.write() as conn:
            endpoint = await self._endpoint(conn, org_id, endpoint_id)
            if not endpoint.enabled:
                raise InvalidRequest(
                    f"webhook endpoint {endpoint_id} is disabled; enable it before recovering",
                    code="endpoint_disabled",
                )
            query = t.deliveries.update().where(
                D.endpoint_id == endpoint_id, D.status == "failed", D.finished_at >= since
            )
            if until is not None:
                query = query.where(D.finished_at < until)
            result = await conn.execute(query.values(**requeue(now)))
            if result.rowcount:
                await self.db.notify(conn, "pagewire_deliveries")
            return int(result.rowcount)


__all__ = ["WebhookStore", "disable_endpoint", "opened_headers", "sealed_headers"]
