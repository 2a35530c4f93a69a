"""A long document's page ranges as jobs any worker can claim: shards.

A shard is a row of ``jobs`` with ``parent_id`` set: same organization, priority
and input blob as its job, its page range in ``options["pages"]``. The queue's own
machinery claims, heartbeats, rescues and retries it; nothing else sees it (the
API reads only rows without a parent, and a shard's changes make no events).

The worker running a job splits it once the document is open (:meth:`ShardStore.split`,
once per job however often it is re-run), runs the first range itself, and records
its part (:meth:`ShardStore.record_part`): the job then waits, ``processing`` without
a lease, so no rescue touches it. Every shard records its part the same way, and
completes. Each recording locks the job's row first, so of two runs finishing
together one sees the other's part: the run that records the last part takes a
lease on the job to assemble it, and completes it through the normal finish
(:meth:`pagewire.store.leases.LeaseStore.finish`). A failed shard fails the job
with its error; a cancel, or a job that ends otherwise, cancels every shard.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.ids import new_id
from pagewire.models import Job, JobStatus, Lease
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.job_sql import emit_job_events, held_by, job_from_row

J = t.jobs.c


class ShardStore:
    def __init__(self, db: Database, *, public_url: str) -> None:
        self.db = db
        self.public_url = public_url

    async def split(
        self, lease: Lease, ranges: Sequence[str], pages_total: int
    ) -> list[str] | None:
        """Make ``ranges`` (page specs) the shards of the leased job, unless it has some
        already (a re-run after a rescue): the shards' ranges, None if the lease is lost.

        ``pages_total`` (every selected page, the job's own and its shards') is recorded
        on the job, which its progress counts against.
        """
        job = lease.job
        now = self.db.now()
        async with self.db.write() as conn:
            owned = (
                await conn.execute(
                    t.jobs.update()
                    .where(*held_by(lease))
                    .values(pages_total=pages_total, updated_at=now)
                    .returning(J.id)
                )
            ).first()
            if owned is None:
                return None
            existing = (
                await conn.execute(sa.select(J.options).where(J.parent_id == job.id))
            ).scalars()
            held = [str(options["pages"]) for options in existing]
            if held or not ranges:
                return held
            await conn.execute(
                t.jobs.insert().values(created_at=now, updated_at=now),
                [_shard_row(job, spec) for spec in ranges],
            )
            await self.db.notify(conn, "pagewire_jobs")
        return list(ranges)

    async def record_part(
        self,
        lease: Lease,
        part: dict[str, Any] | None,
        *,
        worker_id: str,
        lease_seconds: float,
        status: JobStatus = JobStatus.COMPLETED,
        error: dict[str, Any] | None = None,
    ) -> tuple[bool, Lease | None]:
        """Record a run's pages (a shard: its end, whatever it is) and settle the job:
        (recorded, the lease to assemble the job under when this was its last part).
        Not recorded: the lease was lost meanwhile."""
        job = lease.job
        parent_id = job.parent_id or job.id
        now = self.db.now()
        async with self.db.write() as conn:
            # The job's row first, always: two parts recorded together take turns here.
            await _lock(conn, parent_id)
            values: dict[str, Any] = {
                "result": part,
                "lease_token": None,
                "lease_expires_at": None,
                "updated_at": now,
            }
            if job.parent_id is not None:
                values |= {"status": status.value, "error": error, "finished_at": now}
                if status is JobStatus.COMPLETED:
                    values["pages_done"] = sa.func.coalesce(J.pages_total, J.pages_done)
            recorded = await conn.execute(t.jobs.update().where(*held_by(lease)).values(**values))
            # The assembler's token follows from this run's: a try again after a
            # commit whose answer was lost still finds the lease it took.
            token = hashlib.sha256(f"assemble:{lease.token}".encode()).hexdigest()[:32]
            if not recorded.rowcount:
                row = await _lock(conn, parent_id)
                if row is not None and row.lease_token == token:
                    return True, Lease(job_from_row(row), token)
                return False, None
            assembler = await settle(
                self.db,
                conn,
                parent_id,
                public_url=self.public_url,
                assemble_as=(worker_id, token),
                lease_seconds=lease_seconds,
            )
        return True, assembler

    async def parts(self, job_id: str) -> list[dict[str, Any]]:
        """The recorded parts of a job being assembled: its own, then its shards'."""
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(J.result).where(
                        sa.or_(J.id == job_id, J.parent_id == job_id), J.result.is_not(None)
                    )
                )
            ).scalars()
            return [dict(part) for part in rows]

    async def abandon(self, job_id: str) -> None:
        """The job ended without its shards (failed, canceled): stop every one of them."""
        async with self.db.write() as conn:
            await cancel_shards(self.db, conn, job_id)


async def _lock(conn: AsyncConnection, job_id: str) -> Any:
    return (await conn.execute(sa.select(t.jobs).where(J.id == job_id).with_for_update())).first()


async def settle(
    db: Database,
    conn: AsyncConnection,
    parent_id: str,
    *,
    public_url: str,
    assemble_as: tuple[str, str] | None = None,
    lease_seconds: float = 0.0,
) -> Lease | None:
    """Decide a waiting job by its shards, in the caller's transaction.

    A failed shard fails the job with its error; a cancel cancels it; once every
    part is in, ``assemble_as`` (a worker id, a token) gets a lease to assemble it (None: the
    caller cannot assemble, as the rescue; the job waits for a part that can).
    """
    row = await _lock(conn, parent_id)
    if row is None or row.status != JobStatus.PROCESSING.value:
        return None  # finished already, or pending again (rescued) and to be re-run
    shards = (
        await conn.execute(sa.select(J.status, J.error).where(J.parent_id == parent_id))
    ).all()
    now = db.now()
    failed = next((s for s in shards if s.status == JobStatus.FAILED.value), None)
    canceled = row.cancel_requested or any(s.status == JobStatus.CANCELED.value for s in shards)
    values: dict[str, Any] = {
        "finished_at": now,
        "updated_at": now,
        "sequence": J.sequence + 1,
        "lease_token": None,
        "lease_expires_at": None,
    }
    if failed is not None:
        # At once, even while the job's own run goes on: its lease is gone, so it
        # stops at its next page as a run whose job was rescued does.
        values |= {"status": JobStatus.FAILED.value, "error": failed.error, "result": None}
    elif row.lease_token is not None:
        return None  # its own run (or an assembler) holds it and settles it at its end
    elif canceled:
        values |= {"status": JobStatus.CANCELED.value, "result": None}
    elif all(s.status == JobStatus.COMPLETED.value for s in shards) and assemble_as:
        worker_id, token = assemble_as
        taken = (
            await conn.execute(
                t.jobs.update()
                .where(J.id == parent_id)
                .values(
                    lease_token=token,
                    lease_expires_at=now + lease_seconds,
                    worker_id=worker_id,
                    updated_at=now,
                )
                .returning(t.jobs)
            )
        ).one()
        return Lease(job_from_row(taken), token)
    else:
        return None
    ended = (
        await conn.execute(
            t.jobs.update().where(J.id == parent_id).values(**values).returning(t.jobs)
        )
    ).one()
    await emit_job_events(db, conn, [job_from_row(ended)], public_url=public_url)
    await cancel_shards(db, conn, parent_id)
    return None


async def cancel_shards(db: Database, conn: AsyncConnection, parent_id: str) -> None:
    """Cancel a job's shards: pending ones at once, running ones at their next page."""
    now = db.now()
    await conn.execute(
        t.jobs.update()
        .where(J.parent_id == parent_id, J.status == JobStatus.PENDING.value)
        .values(
            status=JobStatus.CANCELED.value,
            cancel_requested=True,
            finished_at=now,
            updated_at=now,
        )
    )
    await conn.execute(
        t.jobs.update()
        .where(J.parent_id == parent_id, J.status == JobStatus.PROCESSING.value)
        .values(cancel_requested=True, updated_at=now)
    )


async def after_rescue(
    db: Database, conn: AsyncConnection, changed: Sequence[Job], *, public_url: str
) -> None:
    """The rescue ended some jobs for good: a shard's end decides its job, a job's
    end stops its shards."""
    for job in changed:
        if not job.status.is_final:
            continue
        if job.parent_id is not None:
            await settle(db, conn, job.parent_id, public_url=public_url)
        else:
            await cancel_shards(db, conn, job.id)


def _shard_row(job: Job, spec: str) -> dict[str, Any]:
    return {
        "id": new_id("job"),
        "parent_id": job.id,
        "org_id": job.org_id,
        "status": JobStatus.PENDING.value,
        "priority": job.priority,
        "attempts": 0,
        "max_attempts": job.max_attempts,
        "file_name": job.input.file_name,
        "file_url": job.input.file_url,
        "media_type": job.input.media_type,
        "sha256": job.input.sha256,
        "size": job.input.size,
        "blob_key": job.input.blob_key,
        "options": {**job.options, "pages": spec},
        "metadata": {},
        "request": {},
        "sequence": 0,
    }


async def shard_progress(conn: AsyncConnection, jobs: Sequence[Job]) -> dict[str, int]:
    """Pages the shards of each running job have done: job id -> pages."""
    running = [job.id for job in jobs if job.status is JobStatus.PROCESSING]
    if not running:
        return {}
    rows = await conn.execute(
        sa.select(J.parent_id, sa.func.sum(J.pages_done))
        .where(J.parent_id.in_(running))
        .group_by(J.parent_id)
    )
    return {parent_id: int(done or 0) for parent_id, done in rows}
