"""The transactional outbox: events and their deliveries, written in the caller's transaction.

A job's status change, its event and one delivery per subscribed endpoint commit
together or not at all; the dispatcher only ever reads what committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.ids import new_id
from pagewire.models import NewEvent
from pagewire.store import tables as t
from pagewire.store.db import Database

# Built once: a statement object is compiled and its cache key computed on first
# use only; building them per transaction cost more than running them.
_INSERT_EVENTS = t.events.insert()
_INSERT_DELIVERIES = t.deliveries.insert()
_EVENT_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("id", t.Id),
    ("org_id", t.Id),
    ("type", sa.String(64)),
    ("job_id", t.Id),
    ("sequence", sa.Integer()),
    ("payload", t.Json),
    ("created_at", sa.Double()),
]
_EVENT_NAMES = [name for name, _ in _EVENT_COLUMNS]


def _subscribed(db: Database) -> Any:
    """The enabled endpoints of the ``org_ids``; where a CTE can write, the events go in first.

    One statement on PostgreSQL (the insert is a CTE of the select, its rows in
    array parameters): every job transition writes an event, and a round trip less
    per transaction is a good part of the time from submit to start.
    """
    E = t.endpoints.c
    subscribed = sa.select(E.id, E.org_id, E.event_types).where(
        db.dialect.among(E.org_id, param="org_ids"), E.enabled.is_(True)
    )
    if not db.dialect.writes_in_ctes:
        return subscribed  # the events are inserted on their own
    given = db.dialect.rows_table("new_events", _EVENT_COLUMNS, param="events")
    insert = t.events.insert().from_select(
        _EVENT_NAMES, sa.select(*(given.c[n] for n in _EVENT_NAMES))
    )
    return subscribed.add_cte(insert.cte("inserted_events"))


async def append(
    db: Database, conn: AsyncConnection, new_events: Sequence[NewEvent], now: float
) -> list[str]:
    """Insert events and their deliveries; returns the event ids (``msg_...``)."""
    if not new_events:
        return []
    event_rows: list[dict[str, Any]] = [
        {
            "id": new_id("msg"),
            "org_id": e.org_id,
            "type": e.type,
            "job_id": e.job_id,
            "sequence": e.sequence,
            "payload": e.payload,
            "created_at": now,
        }
        for e in new_events
    ]
    subscribed = db.prepared("outbox.subscribed", lambda: _subscribed(db))
    asked: dict[str, Any] = {"org_ids": list({e.org_id for e in new_events})}
    if db.dialect.writes_in_ctes:
        asked |= db.dialect.rows_param(
            _EVENT_COLUMNS, [[row[n] for n in _EVENT_NAMES] for row in event_rows], "events"
        )
    else:
        await conn.execute(_INSERT_EVENTS, event_rows)
    endpoint_rows = (await conn.execute(subscribed, asked)).all()
    deliveries = []
    for event, row in zip(new_events, event_rows, strict=True):
        for endpoint in endpoint_rows:
            if endpoint.org_id != event.org_id:
                continue
            if event.only_endpoint_id is not None and endpoint.id != event.only_endpoint_id:
                continue
            if event.only_endpoint_id is None and not _wants(endpoint.event_types, event.type):
                continue
            deliveries.append(
                {
                    "id": new_id("dlv"),
                    "event_id": row["id"],
                    "endpoint_id": endpoint.id,
                    "org_id": event.org_id,
                    "job_id": event.job_id,
                    "sequence": event.sequence,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
            )
    if deliveries:
        await conn.execute(_INSERT_DELIVERIES, deliveries)
        await db.notify(conn, "pagewire_deliveries")
    return [str(row["id"]) for row in event_rows]


def _wants(event_types: list[str] | None, event_type: str) -> bool:
    return event_types is None or event_type in event_types
