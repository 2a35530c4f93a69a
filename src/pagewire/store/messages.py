"""Webhook messages: the outbox's events, each with its deliveries and every attempt.

A message is an event (``msg_...``, the ``webhook-id`` of all its deliveries);
it has one delivery per endpoint it was addressed to, and each delivery keeps
every attempt. Read by the API and the portal (which also lists an endpoint's latest
deliveries); ``resend`` puts deliveries back in the queue with a fresh retry
schedule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.errors import InvalidRequest, NotFound
from pagewire.ids import new_id
from pagewire.models import Attempt, Delivery, Event, ListPage, Message, RecentDelivery
from pagewire.store import tables as t
from pagewire.store.db import Database

E = t.endpoints.c
D = t.deliveries.c
V = t.events.c
A = t.attempts.c
# An attempt's columns beside its delivery's in one row (names that clash: id, created_at)
_ATTEMPT_COLUMNS = tuple(
    c.label(f"attempt_{c.name}")
    for c in (
        A.id,
        A.created_at,
        A.status_code,
        A.latency_ms,
        A.response_body,
        A.error,
        A.error_detail,
    )
)


def event_from_row(row: Any) -> Event:
    m = row._mapping
    return Event(
        id=m["id"],
        org_id=m["org_id"],
        type=m["type"],
        job_id=m["job_id"],
        sequence=m["sequence"],
        payload=m["payload"],
        created_at=m["created_at"],
    )


def delivery_from_row(row: Any, attempts: Sequence[Attempt] = ()) -> Delivery:
    m = row._mapping
    return Delivery(
        id=m["id"],
        event_id=m["event_id"],
        endpoint_id=m["endpoint_id"],
        job_id=m["job_id"],
        sequence=m["sequence"],
        status=m["status"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"] if m["status"] == "pending" else None,
        last_status_code=m["last_status_code"],
        last_error=m["last_error"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        finished_at=m["finished_at"],
        attempt_log=tuple(attempts),
    )


def cursor_after(cursor: str | None, prefix: str) -> str | None:
    if cursor and not cursor.startswith(f"{prefix}_"):
        raise InvalidRequest("cursor is not one this API returned", code="invalid_cursor")
    return cursor or None


class MessageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- messages -----------------------------------------------------------

    async def list_messages(
        self,
        org_id: str,
        *,
        types: Sequence[str] = (),
        job_id: str | None = None,
        after: float | None = None,
        before: float | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ListPage[Event]:
        """Newest first, filtered by type, job and creation time."""
        query = sa.select(t.events).where(V.org_id == org_id)
        if types:
            query = query.where(V.type.in_(list(types)))
        if job_id is not None:
            query = query.where(V.job_id == job_id)
        if after is not None:
            query = query.where(V.created_at >= after)
        if before is not None:
            query = query.where(V.created_at < before)
        if last := cursor_after(cursor, "msg"):
            query = query.where(V.id < last)
        async with self.db.read() as conn:
            rows = (await conn.execute(query.order_by(V.id.desc()).limit(limit + 1))).all()
        found = [event_from_row(r) for r in rows[:limit]]
        return ListPage(found, found[-1].id if len(rows) > limit else None)

    async def get_message(self, org_id: str, message_id: str) -> Message:
        """The event with each of its deliveries and every attempt, oldest first.

        Deliveries and attempts come from one statement, so one snapshot: read in two,
        PostgreSQL (read committed) could show a retry's new attempt beside the
        delivery's schedule from before it."""
        async with self.db.read() as conn:
            row = (
                await conn.execute(
                    sa.select(t.events).where(V.id == message_id, V.org_id == org_id)
                )
            ).first()
            if row is None:
                raise NotFound(f"no webhook message {message_id}")
            rows = (
                await conn.execute(
                    sa.select(t.deliveries, *_ATTEMPT_COLUMNS)
                    .select_from(t.deliveries.outerjoin(t.attempts, A.delivery_id == D.id))
                    .where(D.event_id == message_id, D.org_id == org_id)
                    .order_by(D.id, A.created_at, A.id)
                )
            ).all()
        deliveries: dict[str, tuple[Any, list[Attempt]]] = {}
        for r in rows:
            _, attempts = deliveries.setdefault(r.id, (r, []))
            if r.attempt_id is not None:
                attempts.append(
                    Attempt(
                        id=r.attempt_id,
                        delivery_id=r.id,
                        created_at=r.attempt_created_at,
                        status_code=r.attempt_status_code,
                        latency_ms=r.attempt_latency_ms,
                        response_body=r.attempt_response_body,
                        error=r.attempt_error,
                        error_detail=r.attempt_error_detail,
                    )
                )
        return Message(
            event_from_row(row),
            tuple(delivery_from_row(d, attempts) for d, attempts in deliveries.values()),
        )

    async def recent_deliveries(
        self, org_id: str, endpoint_id: str, *, limit: int = 20
    ) -> list[RecentDelivery]:
        """The endpoint's latest deliveries, newest first, with their message's type and job."""
        query = (
            sa.select(
                D.id,
                D.event_id,
                V.type,
                D.job_id,
                D.status,
                D.attempts,
                D.last_status_code,
                D.last_error,
                D.created_at,
                D.updated_at,
            )
            .select_from(t.deliveries.join(t.events, V.id == D.event_id))
            .where(D.org_id == org_id, V.org_id == org_id, D.endpoint_id == endpoint_id)
            .order_by(D.updated_at.desc(), D.id.desc())
            .limit(limit)
        )
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            RecentDelivery(
                id=r.id,
                message_id=r.event_id,
                event_type=r.type,
                job_id=r.job_id,
                status=r.status,
                attempts=r.attempts,
                last_status_code=r.last_status_code,
                last_error=r.last_error,
                created_at=r.created_at,
                updated_at=r.updated_at,
            )
            for r in rows
        ]

    async def resend(self, org_id: str, message_id: str, endpoint_id: str | None = None) -> int:
        """Send a message again, to all its endpoints or one; returns how many re-queued.

        A delivery being sent right now is left to finish; one waiting for its next
        retry is made due at once. The ``webhook-id`` stays the message id.
        """
        now = self.db.now()
        async with self.db.write() as conn:
            event = (
                await conn.execute(sa.select(V.id).where(V.id == message_id, V.org_id == org_id))
            ).first()
            if event is None:
                raise NotFound(f"no webhook message {message_id}")
            if endpoint_id is not None:
                await _owned_endpoint(conn, org_id, endpoint_id)
            query = t.deliveries.update().where(
                D.event_id == message_id,
                D.endpoint_id.in_(sa.select(E.id).where(E.org_id == org_id, E.enabled.is_(True))),
                sa.or_(
                    D.status != "pending",
                    D.lease_token.is_(None),
                    D.lease_expires_at < now,
                ),
            )
            if endpoint_id is not None:
                query = query.where(D.endpoint_id == endpoint_id)
            result = await conn.execute(query.values(**requeue(now)))
            if endpoint_id is not None and not result.rowcount:
                exists = (
                    await conn.execute(
                        sa.select(D.id).where(
                            D.event_id == message_id, D.endpoint_id == endpoint_id
                        )
                    )
                ).first()
                if exists is None:
                    result = await self._add_delivery(conn, message_id, endpoint_id, now)
            if result.rowcount:
                await self.db.notify(conn, "pagewire_deliveries")
            return int(result.rowcount)

    async def _add_delivery(
        self, conn: AsyncConnection, message_id: str, endpoint_id: str, now: Any
    ) -> Any:
        """Resending to an endpoint the message never went to (e.g. created later)."""
        event = (await conn.execute(sa.select(t.events).where(V.id == message_id))).one()
        return await conn.execute(
            t.deliveries.insert().values(
                id=new_id("dlv"),
                event_id=message_id,
                endpoint_id=endpoint_id,
                org_id=event.org_id,
                job_id=event.job_id,
                sequence=event.sequence,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )


async def _owned_endpoint(conn: AsyncConnection, org_id: str, endpoint_id: str) -> None:
    found = (
        await conn.execute(sa.select(E.id).where(E.id == endpoint_id, E.org_id == org_id))
    ).first()
    if found is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")


def requeue(now: Any) -> dict[str, Any]:
    """A delivery due at once with a fresh retry schedule (its attempt log stays)."""
    return {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "lease_token": None,
        "lease_expires_at": None,
        "finished_at": None,
        "updated_at": now,
    }
