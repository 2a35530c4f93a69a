"""Read-only summaries the portal shows and the webhook store does not offer (yet).

Every query is scoped by organization, like the store's own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from pagewire.models import EndpointHealth, RecentDelivery
from pagewire.store import tables as t
from pagewire.store.db import Database

A = t.attempts.c
D = t.deliveries.c
V = t.events.c

# Success rates cover this much recent history: long enough to be meaningful,
# short enough that a fixed endpoint stops looking broken.
HEALTH_WINDOW_SECONDS = 7 * 86400.0


def _ok(status_code: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    return sa.case((status_code.between(200, 299), 1), else_=0)


async def endpoint_health(
    db: Database, org_id: str, endpoint_ids: Sequence[str]
) -> dict[str, EndpointHealth]:
    """Attempts and successes over the health window, and the latest attempt, per endpoint."""
    if not endpoint_ids:
        return {}
    joined = t.attempts.join(t.deliveries, D.id == A.delivery_id)
    scoped = (A.org_id == org_id, D.org_id == org_id, D.endpoint_id.in_(list(endpoint_ids)))
    counts = (
        sa.select(
            D.endpoint_id,
            sa.func.count().label("attempts"),
            sa.func.sum(_ok(A.status_code)).label("succeeded"),
        )
        .select_from(joined)
        .where(*scoped, A.created_at >= db.now() - HEALTH_WINDOW_SECONDS)
        .group_by(D.endpoint_id)
    )
    ranked = (
        sa.select(
            D.endpoint_id,
            A.created_at,
            A.status_code,
            A.error,
            sa.func.row_number()
            .over(partition_by=D.endpoint_id, order_by=(A.created_at.desc(), A.id.desc()))
            .label("rank"),
        )
        .select_from(joined)
        .where(*scoped)
        .subquery()
    )
    latest = sa.select(ranked).where(ranked.c.rank == 1)
    async with db.read() as conn:
        totals = {r.endpoint_id: r for r in await conn.execute(counts)}
        lasts = {r.endpoint_id: r for r in await conn.execute(latest)}
    health = {}
    for endpoint_id in endpoint_ids:
        total, last = totals.get(endpoint_id), lasts.get(endpoint_id)
        if last is None:
            continue
        health[endpoint_id] = EndpointHealth(
            attempts=int(total.attempts) if total else 0,
            succeeded=int(total.succeeded or 0) if total else 0,
            last_attempt_at=last.created_at,
            last_status_code=last.status_code,
            last_error=last.error,
        )
    return health


async def recent_deliveries(
    db: Database, org_id: str, endpoint_id: str, *, limit: int = 20
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
    async with db.read() as conn:
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
