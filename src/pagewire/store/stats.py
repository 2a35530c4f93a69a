"""Read-only figures over the queue and the deliveries: what metrics and the portal show.

Nothing here is on a hot path: each read runs at a scrape or a page view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.models import (
    DeliveryHealth,
    EndpointHealth,
    HourOfAttempts,
    JobCounts,
    JobStatus,
)
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.dialect import epoch_hour

A = t.attempts.c
D = t.deliveries.c
J = t.jobs.c

# Success rates cover this much recent history: long enough to be meaningful,
# short enough that a fixed endpoint stops looking broken.
HEALTH_WINDOW_SECONDS = 7 * 86400.0
HOUR = 3600.0
PERCENTILES = (50, 99)


def _ok(status_code: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    return sa.case((status_code.between(200, 299), 1), else_=0)


class StatsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def queue(self) -> JobCounts:
        """Jobs by status, and the age of the oldest work waiting for a worker.

        The counts are jobs as submitted (a split job counts once, its shards not at
        all); the age is of the oldest pending row, a job's shard included: a shard
        waiting is work waiting for a worker.
        """
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(J.status, sa.func.count())
                    .where(J.parent_id.is_(None))
                    .group_by(J.status)
                )
            ).all()
            oldest = (
                await conn.execute(
                    sa.select(self.db.now() - sa.func.min(J.created_at)).where(
                        J.status == JobStatus.PENDING.value
                    )
                )
            ).scalar()
        return JobCounts({status: count for status, count in rows}, float(oldest or 0.0))

    async def endpoint_health(
        self, org_id: str, endpoint_ids: Sequence[str]
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
            .where(*scoped, A.created_at >= self.db.now() - HEALTH_WINDOW_SECONDS)
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
        async with self.db.read() as conn:
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

    async def delivery_health(self, org_id: str, endpoint_id: str) -> DeliveryHealth:
        """The endpoint's attempts per hour by outcome over the health window (whole
        hours, the current one last), and the p50 and p99 of their response times.

        Percentiles are nearest-rank, computed in SQL with window functions (both
        backends have them) over the window's attempts with a recorded latency
        (one that got no answer is timed until it failed).
        """
        async with self.db.read() as conn:
            now = float((await conn.execute(sa.select(self.db.now()))).scalar_one())
            until = (now // HOUR + 1) * HOUR
            since = until - HEALTH_WINDOW_SECONDS
            joined = t.attempts.join(t.deliveries, D.id == A.delivery_id)
            scoped = sa.and_(
                A.org_id == org_id,
                D.org_id == org_id,
                D.endpoint_id == endpoint_id,
                A.created_at >= since,
            )
            hour = epoch_hour(A.created_at).label("hour")
            ok = sa.func.sum(_ok(A.status_code))
            per_hour = (
                sa.select(hour, ok.label("succeeded"), (sa.func.count() - ok).label("failed"))
                .select_from(joined)
                .where(scoped)
                .group_by(hour)
                .order_by(hour)
            )
            hours = [
                HourOfAttempts(r.hour * HOUR, int(r.succeeded or 0), int(r.failed or 0))
                for r in await conn.execute(per_hour)
            ]
            timed, ranks = await self._percentiles(conn, joined, scoped)
        return DeliveryHealth(
            since=since,
            until=until,
            hours=tuple(hours),
            p50_ms=ranks.get(50),
            p99_ms=ranks.get(99),
            timed=timed,
        )

    async def _percentiles(
        self, conn: AsyncConnection, joined: Any, scoped: sa.ColumnElement[bool]
    ) -> tuple[int, dict[int, float]]:
        """(how many attempts were timed, {p: the latency at rank ceil(p% of them)})."""
        ranked = (
            sa.select(
                A.latency_ms.label("ms"),
                sa.func.row_number().over(order_by=A.latency_ms).label("rank"),
                sa.func.count().over().label("n"),
            )
            .select_from(joined)
            .where(scoped, A.latency_ms.is_not(None))
            .subquery()
        )
        # ceil(p * n / 100) in integers, the same on both backends
        ranks = {p: (ranked.c.n * p + 99) // 100 for p in PERCENTILES}
        picked = sa.select(ranked.c.ms, ranked.c.rank, ranked.c.n).where(
            sa.or_(*(ranked.c.rank == rank for rank in ranks.values()))
        )
        rows = (await conn.execute(picked)).all()
        if not rows:
            return 0, {}
        n = int(rows[0].n)
        at_rank = {int(r.rank): float(r.ms) for r in rows}
        return n, {p: at_rank[-(-p * n // 100)] for p in PERCENTILES}
