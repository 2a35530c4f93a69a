"""Jobs on the worker's side: claim with leases, heartbeat, finish, release, rescue.

Every state change of a claimed job is guarded by its lease token
(``WHERE status = 'processing' AND lease_token = :token``), so a worker whose
lease expired and whose job was rescued can never overwrite it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.models import Job, JobStatus, Lease, LeaseState
from pagewire.store import fair_claim
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.group_commit import GroupCommit
from pagewire.store.job_sql import (
    OUTCOME_COLUMNS,
    Finish,
    emit_job_events,
    finished_job,
    held_by,
    job_from_row,
    job_sql,
)
from pagewire.store.shards import after_rescue

J = t.jobs.c


class LeaseStore:
    def __init__(self, db: Database, *, public_url: str, org_cap: int = 0) -> None:
        self.db = db
        self.org_cap = org_cap
        self.public_url = public_url
        self.sql = job_sql(db)
        self._finishes: GroupCommit[Finish, Job | None] = GroupCommit(self._finish_batch)

    async def _emit(self, conn: AsyncConnection, changed: Sequence[Job]) -> None:
        await emit_job_events(self.db, conn, changed, public_url=self.public_url)

    async def claim(
        self, worker_id: str, limit: int, lease_seconds: float, *, org_cap: int | None = None
    ) -> list[Lease]:
        """Take up to ``limit`` pending jobs, a fair share for each organization
        (:mod:`pagewire.store.fair_claim`): priority, then submission order, within one.

        ``org_cap``: at most that many jobs of one organization processing at once
        (0: no cap; None: this store's ``org_cap``).
        """
        if limit <= 0:
            return []
        cap = self.org_cap if org_cap is None else org_cap
        token = uuid.uuid4().hex
        params: dict[str, Any] = {
            "claim_limit": limit,
            "org_cap": cap,
            "claim_token": token,
            "claim_lease_seconds": lease_seconds,
            "claim_worker_id": worker_id,
        }
        async with self.db.write() as conn:
            if self.db.dialect.writes_in_ctes:
                if cap > 0:
                    # Hold the capped organizations' rows, then count their running
                    # jobs in a statement of its own: it sees the last holder's claim.
                    locked = (await conn.execute(self.sql.lock_orgs, params)).scalars().all()
                    if not locked:
                        return []
                    params["claim_orgs"] = list(locked)
            else:
                chosen = fair_claim.pick(await conn.execute(self.sql.choose, params), limit)
                if not chosen:
                    return []
                params["ids"] = chosen
            rows = (await conn.execute(self.sql.claim, params)).all()
            jobs = sorted((job_from_row(r) for r in rows), key=lambda j: (-j.priority, j.id))
            await self._emit(conn, jobs)
        return [Lease(job, token) for job in jobs]

    async def heartbeat(
        self,
        lease: Lease,
        lease_seconds: float,
        *,
        pages_done: int | None = None,
        pages_total: int | None = None,
    ) -> LeaseState:
        """Extend the lease (and record progress); tells whether cancel was asked."""
        values: dict[str, Any] = {"lease_expires_at": self.db.now() + lease_seconds}
        if pages_done is not None:
            values["pages_done"] = pages_done
            values["updated_at"] = self.db.now()
        if pages_total is not None:
            values["pages_total"] = pages_total
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    t.jobs.update()
                    .where(*held_by(lease))
                    .values(**values)
                    .returning(J.cancel_requested)
                )
            ).first()
        if row is None:
            return LeaseState(owned=False, cancel_requested=False)
        return LeaseState(owned=True, cancel_requested=bool(row.cancel_requested))

    async def heartbeat_all(
        self, leases: Sequence[Lease], lease_seconds: float
    ) -> dict[str, LeaseState]:
        """Extend every lease a worker holds in one statement: job id -> its state.

        A job missing from the answer is no longer held under that lease (rescued).
        """
        if not leases:
            return {}
        held = {(lease.job.id, lease.token) for lease in leases}
        async with self.db.write() as conn:
            rows = (
                await conn.execute(
                    t.jobs.update()
                    .where(
                        J.id.in_([job_id for job_id, _ in held]),
                        J.status == JobStatus.PROCESSING.value,
                        J.lease_token.in_({token for _, token in held}),
                    )
                    .values(lease_expires_at=self.db.now() + lease_seconds)
                    .returning(J.id, J.lease_token, J.cancel_requested)
                )
            ).all()
        states = {
            row.id: LeaseState(owned=True, cancel_requested=bool(row.cancel_requested))
            for row in rows
            if (row.id, row.lease_token) in held
        }
        lost = LeaseState(owned=False, cancel_requested=False)
        return {lease.job.id: states.get(lease.job.id, lost) for lease in leases}

    async def record_input(
        self, lease: Lease, *, sha256: str, size: int, media_type: str | None
    ) -> bool:
        """What a ``file_url`` download brought, on the job as an upload's is at submit;
        False when the lease was lost meanwhile (the rescued run records its own)."""
        async with self.db.write() as conn:
            result = await conn.execute(
                t.jobs.update()
                .where(*held_by(lease))
                .values(sha256=sha256, size=size, media_type=media_type)
            )
        return bool(result.rowcount)

    async def finish(
        self,
        lease: Lease,
        status: JobStatus,
        *,
        result: dict[str, Any] | None = None,
        result_blob_key: str | None = None,
        result_size: int | None = None,
        page_count: int | None = None,
        error: dict[str, Any] | None = None,
    ) -> Job | None:
        """Record the outcome and its event; None when the lease was lost meanwhile.

        Outcomes that arrive while another is being written are group-committed: one
        transaction records all of them (each still guarded by its own lease token),
        with their events and deliveries. The call returns once its outcome committed.
        """
        if not status.is_final:
            raise ValueError(f"{status} is not a final status")
        return await self._finishes.submit(
            Finish(lease, status, result, result_blob_key, result_size, page_count, error)
        )

    async def _finish_batch(self, batch: Sequence[Finish]) -> list[Job | None]:
        """One transaction: every lease-guarded outcome of ``batch`` and its event."""
        outcomes = self.db.dialect.rows_param(
            OUTCOME_COLUMNS,
            [
                (
                    f.lease.job.id,
                    f.lease.token,
                    f.status.value,
                    f.result,
                    f.result_blob_key,
                    f.result_size,
                    f.page_count,
                    f.error,
                )
                for f in batch
            ],
        )
        by_id = {f.lease.job.id: f for f in batch}
        async with self.db.write() as conn:
            rows = (await conn.execute(self.sql.finish, {**outcomes, "ids": list(by_id)})).all()
            finished = {row.id: finished_job(by_id[row.id], row) for row in rows}
            if finished and self.org_cap > 0:
                # A capped organization's next job may wait for exactly this slot, and
                # a worker whose last claim came back short sleeps until woken.
                await self.db.notify(conn, "pagewire_jobs")
            await self._emit(conn, sorted(finished.values(), key=lambda j: j.id))
        return [finished.get(f.lease.job.id) for f in batch]

    async def release(self, lease: Lease) -> bool:
        """Give a job back untouched (shutdown): it is pending again, this attempt not counted."""
        async with self.db.write() as conn:
            result = await conn.execute(
                t.jobs.update()
                .where(*held_by(lease))
                .values(
                    status=JobStatus.PENDING.value,
                    attempts=J.attempts - 1,
                    lease_token=None,
                    lease_expires_at=None,
                    worker_id=None,
                    pages_done=0,
                    updated_at=self.db.now(),
                )
            )
            if result.rowcount:
                await self.db.notify(conn, "pagewire_jobs")
            return bool(result.rowcount)

    async def rescue_expired(self, limit: int = 100) -> list[Job]:
        """Jobs whose worker stopped heartbeating: retried, or failed with ``worker_lost``.

        Judged by the database's clock. A job whose cancel was asked is canceled.
        """
        now = self.db.now()
        async with self.db.write() as conn:
            expired = (
                await conn.execute(
                    sa.select(t.jobs)
                    .where(J.status == JobStatus.PROCESSING.value, J.lease_expires_at < now)
                    .order_by(J.lease_expires_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            changed: list[Job] = []
            for row in expired:
                job = job_from_row(row)
                values: dict[str, Any] = {
                    "lease_token": None,
                    "lease_expires_at": None,
                    "worker_id": None,
                    "updated_at": now,
                }
                if job.cancel_requested:
                    values |= {"status": JobStatus.CANCELED.value, "finished_at": now}
                elif job.attempts >= job.max_attempts:
                    values |= {
                        "status": JobStatus.FAILED.value,
                        "finished_at": now,
                        "error": {
                            "code": "worker_lost",
                            "message": (
                                f"the worker running this job stopped responding "
                                f"{job.attempts} times; giving up"
                            ),
                        },
                    }
                else:
                    values |= {"status": JobStatus.PENDING.value, "pages_done": 0}
                final = values["status"] != JobStatus.PENDING.value
                if final:
                    values["sequence"] = J.sequence + 1
                new_row = (
                    await conn.execute(
                        t.jobs.update()
                        .where(J.id == job.id, J.lease_token == job.lease_token)
                        .values(**values)
                        .returning(t.jobs)
                    )
                ).first()
                if new_row is None:
                    continue
                changed.append(job_from_row(new_row))
                if not final:
                    await self.db.notify(conn, "pagewire_jobs")
            await self._emit(conn, [j for j in changed if j.status.is_final])
            await after_rescue(self.db, conn, changed, public_url=self.public_url)
            return changed
