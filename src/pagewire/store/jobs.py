"""Jobs: enqueue, claim with leases, heartbeat, finish, cancel, rescue, read.

Every state change of a claimed job is guarded by its lease token
(``WHERE status = 'processing' AND lease_token = :token``), so a worker whose
lease expired and whose job was rescued can never overwrite it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.errors import Conflict, InvalidRequest, NotFound
from pagewire.events import job_event_payload
from pagewire.ids import new_id
from pagewire.models import (
    EVENT_FOR_STATUS,
    Job,
    JobStatus,
    Lease,
    LeaseState,
    NewEvent,
    NewJob,
    Page,
)
from pagewire.store import outbox
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.group_commit import GroupCommit
from pagewire.store.job_sql import OUTCOME_COLUMNS, Finish, JobSQL, finished_job, job_from_row

J = t.jobs.c


class JobStore:
    def __init__(self, db: Database, *, public_url: str, max_attempts: int) -> None:
        self.db = db
        self.public_url = public_url
        self.max_attempts = max_attempts
        self._finishes: GroupCommit[Finish, Job | None] = GroupCommit(self._finish_batch)
        self._enqueues: GroupCommit[NewJob, tuple[Job, bool] | Conflict] = GroupCommit(
            self._enqueue_batch
        )
        self.sql = JobSQL(db)

    # -- events -------------------------------------------------------------

    async def _emit(self, conn: AsyncConnection, changed: Sequence[Job]) -> None:
        """One event per changed job, named by its new status, in this transaction."""
        if not changed:
            return
        await outbox.append(
            self.db,
            conn,
            [
                NewEvent(
                    org_id=job.org_id,
                    type=EVENT_FOR_STATUS[job.status],
                    job_id=job.id,
                    sequence=job.sequence,
                    payload=job_event_payload(
                        EVENT_FOR_STATUS[job.status],
                        job,
                        public_url=self.public_url,
                        at=job.updated_at,
                    ),
                )
                for job in changed
            ],
            now=changed[0].updated_at,
        )

    # -- submit -------------------------------------------------------------

    async def enqueue(self, new: NewJob) -> tuple[Job, bool]:
        """Store a pending job and its ``job.created`` event; (job, created).

        The same idempotency key with the same request returns the first job;
        with another request it is a Conflict. Submissions that arrive together are
        group-committed (one transaction, one wake-up), each returning its own answer.
        """
        for _ in range(3):
            try:
                outcome = await self._enqueues.submit(new)
            except exc.IntegrityError:
                # Another request inserted the same idempotency key first: read theirs.
                continue
            if isinstance(outcome, Conflict):
                raise outcome
            return outcome
        raise Conflict("the idempotency key is being used by a concurrent request")

    async def _enqueue_batch(self, batch: Sequence[NewJob]) -> list[tuple[Job, bool] | Conflict]:
        """One transaction: the new jobs of ``batch``, their events, one wake-up."""
        keys = [(n.org_id, n.idempotency_key) for n in batch if n.idempotency_key is not None]
        if len(set(keys)) != len(keys):
            # One key twice in a batch: one by one (the group commit retries them so).
            raise exc.IntegrityError("duplicate idempotency key in one batch", None, ValueError())
        answers: list[tuple[Job, bool] | Conflict | None] = [None] * len(batch)
        async with self.db.write() as conn:
            if keys:
                existing = {
                    (job.org_id, job.idempotency_key): job
                    for job in map(
                        job_from_row,
                        (
                            await conn.execute(
                                sa.select(t.jobs).where(
                                    J.org_id.in_({org for org, _ in keys}),
                                    J.idempotency_key.in_({key for _, key in keys}),
                                )
                            )
                        ).all(),
                    )
                }
                for i, new in enumerate(batch):
                    job = existing.get((new.org_id, new.idempotency_key))
                    if new.idempotency_key is None or job is None:
                        continue
                    if job.idempotency_fingerprint != new.idempotency_fingerprint:
                        answers[i] = Conflict(
                            "this Idempotency-Key was used with a different request",
                            code="idempotency_conflict",
                            details={"job_id": job.id},
                        )
                    else:
                        answers[i] = (job, False)
            fresh = [i for i, answer in enumerate(answers) if answer is None]
            if fresh:
                rows = (
                    await conn.execute(
                        self.sql.insert,
                        [
                            {
                                "id": new_id("job"),
                                "org_id": new.org_id,
                                "status": JobStatus.PENDING.value,
                                "priority": new.priority,
                                "attempts": 0,
                                "max_attempts": self.max_attempts,
                                "file_name": new.input.file_name,
                                "file_url": new.input.file_url,
                                "media_type": new.input.media_type,
                                "sha256": new.input.sha256,
                                "size": new.input.size,
                                "blob_key": new.input.blob_key,
                                "options": new.options,
                                "metadata": new.metadata,
                                "request": new.request,
                                "idempotency_key": new.idempotency_key,
                                "idempotency_fingerprint": new.idempotency_fingerprint,
                                "sequence": 1,
                            }
                            for new in (batch[i] for i in fresh)
                        ],
                    )
                ).all()
                jobs = [job_from_row(row) for row in rows]
                await self._emit(conn, jobs)
                await self.db.notify(conn, "pagewire_jobs")
                for i, job in zip(fresh, jobs, strict=True):
                    answers[i] = (job, True)
        return [answer for answer in answers if answer is not None]

    # -- read ---------------------------------------------------------------

    async def get(self, org_id: str, job_id: str) -> Job:
        async with self.db.read() as conn:
            row = (
                await conn.execute(sa.select(t.jobs).where(J.id == job_id, J.org_id == org_id))
            ).first()
        if row is None:
            raise NotFound(f"no job {job_id}")
        return job_from_row(row)

    async def list_jobs(
        self,
        org_id: str,
        *,
        statuses: Sequence[JobStatus] = (),
        created_after: float | None = None,
        created_before: float | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[Job]:
        """Newest first; ``next_cursor`` is the last id of this page."""
        query = sa.select(t.jobs).where(J.org_id == org_id)
        if statuses:
            query = query.where(J.status.in_([s.value for s in statuses]))
        if created_after is not None:
            query = query.where(J.created_at >= created_after)
        if created_before is not None:
            query = query.where(J.created_at < created_before)
        if cursor:
            if not cursor.startswith("job_"):
                raise InvalidRequest("cursor is not one this API returned", code="invalid_cursor")
            query = query.where(J.id < cursor)
        query = query.order_by(J.id.desc()).limit(limit + 1)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        jobs = [job_from_row(r) for r in rows[:limit]]
        return Page(jobs, jobs[-1].id if len(rows) > limit else None)

    # -- the worker's side ----------------------------------------------------

    async def claim(self, worker_id: str, limit: int, lease_seconds: float) -> list[Lease]:
        """Take up to ``limit`` pending jobs, highest priority first, FIFO within one."""
        if limit <= 0:
            return []
        token = uuid.uuid4().hex
        async with self.db.write() as conn:
            rows = (
                await conn.execute(
                    self.sql.claim,
                    {
                        "claim_limit": limit,
                        "claim_token": token,
                        "claim_lease_seconds": lease_seconds,
                        "claim_worker_id": worker_id,
                    },
                )
            ).all()
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
                    .where(*self._guard(lease))
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
            await self._emit(conn, sorted(finished.values(), key=lambda j: j.id))
        return [finished.get(f.lease.job.id) for f in batch]

    async def release(self, lease: Lease) -> bool:
        """Give a job back untouched (shutdown): it is pending again, this attempt not counted."""
        async with self.db.write() as conn:
            result = await conn.execute(
                t.jobs.update()
                .where(*self._guard(lease))
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

    @staticmethod
    def _guard(lease: Lease) -> tuple[Any, ...]:
        return (
            J.id == lease.job.id,
            J.status == JobStatus.PROCESSING.value,
            J.lease_token == lease.token,
        )

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
            return changed

    # -- the API's side -----------------------------------------------------

    async def cancel(self, org_id: str, job_id: str) -> Job:
        """Cancel: a pending job at once, a processing one at its next page boundary.

        Idempotent: a finished job is returned as it is.
        """
        now = self.db.now()
        async with self.db.write() as conn:
            row = (
                await conn.execute(sa.select(t.jobs).where(J.id == job_id, J.org_id == org_id))
            ).first()
            if row is None:
                raise NotFound(f"no job {job_id}")
            job = job_from_row(row)
            if job.status is JobStatus.PENDING:
                new_row = (
                    await conn.execute(
                        t.jobs.update()
                        .where(J.id == job_id, J.status == JobStatus.PENDING.value)
                        .values(
                            status=JobStatus.CANCELED.value,
                            cancel_requested=True,
                            finished_at=now,
                            updated_at=now,
                            sequence=J.sequence + 1,
                        )
                        .returning(t.jobs)
                    )
                ).one()
                canceled = job_from_row(new_row)
                await self._emit(conn, [canceled])
                return canceled
            if job.status is JobStatus.PROCESSING and not job.cancel_requested:
                await conn.execute(
                    t.jobs.update()
                    .where(J.id == job_id)
                    .values(cancel_requested=True, updated_at=now)
                )
                return replace(job, cancel_requested=True)
            return job

    # -- retention ----------------------------------------------------------

    async def expire_finished(self, older_than: float, limit: int = 200) -> list[Job]:
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
                    .where(J.status.in_(final), J.finished_at < now - older_than)
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
            await self._emit(conn, expired)
        # the caller needs the keys the rows held before the update
        return [before[job.id] for job in expired]
