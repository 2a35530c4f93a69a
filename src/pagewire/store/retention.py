"""What the retention sweep removes: finished jobs' data, old webhook messages, and
the endpoints of ``pagewire listen`` runs that stopped renewing them.

A batch at a time, each claimed with SKIP LOCKED on PostgreSQL, so several
workers share the sweep. The sweep itself (its loop, and deleting the blobs of
expired jobs) is :mod:`pagewire.worker.retention`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.kernel.listen_marker import PREFIX as LISTEN_PREFIX
from pagewire.kernel.listen_marker import parse_listen_marker
from pagewire.models import Job, JobStatus
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.job_sql import emit_job_events, job_from_row

E = t.endpoints.c
J = t.jobs.c
D = t.deliveries.c
V = t.events.c


class RetentionStore:
    def __init__(self, db: Database, *, public_url: str) -> None:
        self.db = db
        self.public_url = public_url

    async def _emit(self, conn: AsyncConnection, changed: Sequence[Job]) -> None:
        await emit_job_events(self.db, conn, changed, public_url=self.public_url)

    async def expire_jobs(self, older_than: float, limit: int = 200) -> list[Job]:
        """Jobs finished more than ``older_than`` seconds ago lose their data: ``expired``.

        The job record stays (id, status, times, metadata, error) so links and audits
        still resolve; the result and the input go. Returns the expired jobs, whose
        blob keys (read before the update) the caller deletes.
        """
        now = self.db.now()
        final = [s.value for s in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)]
        async with self.db.write() as conn:
            due = (
                await conn.execute(
                    sa.select(t.jobs)
                    # A shard goes with its job, never alone: it shares the job's input.
                    .where(
                        J.status.in_(final),
                        J.finished_at < now - older_than,
                        J.parent_id.is_(None),
                    )
                    .order_by(J.finished_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not due:
                return []
            before = {row.id: job_from_row(row) for row in due}
            rows = (
                await conn.execute(
                    t.jobs.update()
                    .where(J.id.in_(list(before)), J.status.in_(final))
                    .values(
                        status=JobStatus.EXPIRED.value,
                        result=None,
                        result_blob_key=None,
                        blob_key=None,
                        updated_at=now,
                        sequence=J.sequence + 1,
                    )
                    .returning(t.jobs)
                )
            ).all()
            expired = sorted((job_from_row(r) for r in rows), key=lambda j: j.id)
            await conn.execute(t.jobs.delete().where(J.parent_id.in_(list(before))))
            await self._emit(conn, expired)
        # the caller needs the keys the rows held before the update
        return [before[job.id] for job in expired]

    async def prune_messages(self, older_than: float, limit: int = 1000) -> int:
        """Delete one batch of events older than ``older_than`` seconds whose deliveries
        all finished; returns how many went.

        Their deliveries and attempts go with them (ON DELETE CASCADE). An event that
        still has a pending delivery is kept however old it is: nothing is lost.
        """
        unfinished = sa.select(D.id).where(D.event_id == V.id, D.status == "pending")
        async with self.db.write() as conn:
            old = (
                sa.select(V.id)
                .where(V.created_at < self.db.now() - older_than, ~unfinished.exists())
                .limit(limit)
                .scalar_subquery()
            )
            result = await conn.execute(t.events.delete().where(V.id.in_(old)))
        return int(result.rowcount or 0)

    async def remove_expired_listen_endpoints(self, page: int = 500) -> list[tuple[str, str]]:
        """Delete every ``pagewire listen`` endpoint whose marked expiry has passed.

        Returns ``(org_id, endpoint_id)`` of those deleted. Only a description that
        matches the marker exactly counts (:mod:`pagewire.kernel.listen_marker`),
        and the delete requires the description read, so a run that renewed its
        endpoint in between keeps it. Listen endpoints are few: the candidates are
        read a page at a time, the expiry checked here.
        """
        now = await self.db.current_time()
        due: list[tuple[str, str, str]] = []
        after = ""
        while True:
            async with self.db.read() as conn:
                rows = (
                    await conn.execute(
                        sa.select(E.id, E.org_id, E.description)
                        .where(E.description.startswith(LISTEN_PREFIX, autoescape=True))
                        .where(E.id > after)
                        .order_by(E.id)
                        .limit(page)
                    )
                ).all()
            for row in rows:
                found = parse_listen_marker(row.description)
                if found is not None and found[1] < now:
                    due.append((row.org_id, row.id, row.description))
            if len(rows) < page:
                break
            after = rows[-1].id
        removed = []
        async with self.db.write() as conn:
            for org_id, endpoint_id, description in due:
                result = await conn.execute(
                    t.endpoints.delete().where(E.id == endpoint_id, E.description == description)
                )
                if result.rowcount:
                    removed.append((org_id, endpoint_id))
        return removed
