"""The portal's message log: events with a state read off their deliveries, filtered by it.

A message's state is the worst of its deliveries' (to one endpoint, when the log is
filtered by endpoint):

* ``failed``: a delivery gave up (out of retries, ``410 Gone``, endpoint disabled);
* ``failing``: none gave up, but one's last attempt failed and it will be retried;
* ``pending``: none failed so far, and one waits for its first attempt (or a resend);
* ``succeeded``: every delivery got a 2xx answer.

A message that went to no endpoint (none was subscribed to its type) has no state.
The same rule is written twice, as SQL conditions (to filter a page of events with
``EXISTS`` on ``ix_deliveries_event_id``) and in Python (to label the page's rows);
``tests/contract/test_store_message_log.py`` holds them to each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from pagewire.errors import InvalidRequest
from pagewire.models import MESSAGE_STATUSES, ListPage, LoggedMessage
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.messages import cursor_after, event_from_row

D = t.deliveries.c
V = t.events.c


def delivery_state(status: str, last_error: str | None) -> str:
    """One delivery's part of its message's state (a pending one with an error is failing)."""
    if status == "pending" and last_error is not None:
        return "failing"
    return status


def message_state(deliveries: Iterable[tuple[str, str | None]]) -> str | None:
    """The worst state of ``(status, last_error)`` pairs; None when there are none."""
    states = {delivery_state(status, error) for status, error in deliveries}
    for worst_first in ("failed", "failing", "pending", "succeeded"):
        if worst_first in states:
            return worst_first
    return None


def _has(org_id: str, endpoint_id: str | None, *where: sa.ColumnElement[bool]) -> Any:
    """EXISTS a delivery of the outer event (to ``endpoint_id`` if given) matching ``where``."""
    query = sa.select(D.id).where(D.event_id == V.id, D.org_id == org_id, *where)
    if endpoint_id is not None:
        query = query.where(D.endpoint_id == endpoint_id)
    return sa.exists(query)


def _state_is(state: str, org_id: str, endpoint_id: str | None) -> sa.ColumnElement[bool]:
    def has(*where: sa.ColumnElement[bool]) -> Any:
        return _has(org_id, endpoint_id, *where)

    failed = has(D.status == "failed")
    failing = has(D.status == "pending", D.last_error.is_not(None))
    pending = has(D.status == "pending", D.last_error.is_(None))
    conditions: dict[str, sa.ColumnElement[bool]] = {
        "failed": failed,
        "failing": sa.and_(~failed, failing),
        "pending": sa.and_(~failed, ~failing, pending),
        "succeeded": sa.and_(has(), ~has(D.status != "succeeded")),
    }
    return conditions[state]


class MessageLog:
    """Mixed into :class:`pagewire.store.portal.PortalStore`."""

    db: Database

    async def message_log(
        self,
        org_id: str,
        *,
        types: Sequence[str] = (),
        job_id: str | None = None,
        endpoint_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ListPage[LoggedMessage]:
        """Newest first, filtered by type, job, endpoint (a delivery to it) and state."""
        if status is not None and status not in MESSAGE_STATUSES:
            raise InvalidRequest(
                f"status must be one of {', '.join(MESSAGE_STATUSES)}", code="invalid_status"
            )
        query = sa.select(t.events).where(V.org_id == org_id)
        if types:
            query = query.where(V.type.in_(list(types)))
        if job_id is not None:
            query = query.where(V.job_id == job_id)
        if endpoint_id is not None:
            query = query.where(_has(org_id, endpoint_id))
        if status is not None:
            query = query.where(_state_is(status, org_id, endpoint_id))
        if last := cursor_after(cursor, "msg"):
            query = query.where(V.id < last)
        async with self.db.read() as conn:
            rows = (await conn.execute(query.order_by(V.id.desc()).limit(limit + 1))).all()
            events = [event_from_row(r) for r in rows[:limit]]
            states = await conn.execute(
                sa.select(D.event_id, D.status, D.last_error).where(
                    D.event_id.in_([e.id for e in events]),
                    D.org_id == org_id,
                    *([D.endpoint_id == endpoint_id] if endpoint_id is not None else []),
                )
            )
        by_event: dict[str, list[tuple[str, str | None]]] = {}
        for event_id, delivery_status, last_error in states:
            by_event.setdefault(event_id, []).append((delivery_status, last_error))
        found = [LoggedMessage(e, message_state(by_event.get(e.id, ()))) for e in events]
        return ListPage(found, events[-1].id if len(rows) > limit else None)
