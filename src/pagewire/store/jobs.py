"""Jobs on the API's side: enqueue, read, list, cancel.

The worker's side (claim, heartbeat, finish, release, rescue) is
:mod:`pagewire.store.leases`; expiry is :mod:`pagewire.store.retention`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.errors import Conflict, InvalidRequest, NotFound
from pagewire.ids import new_id
from pagewire.models import Job, JobStatus, ListPage, NewJob
from pagewire.store import tables as t
from pagewire.store.db import Database
from pagewire.store.group_commit import GroupCommit
from pagewire.store.job_sql import emit_job_events, job_from_row, job_sql
from pagewire.store.shards import cancel_shards, shard_progress

J = t.jobs.c


class JobStore:
    def __init__(self, db: Database, *, public_url: str, max_attempts: int) -> None:
        self.db = db
        self.public_url = public_url
        self.max_attempts = max_attempts
        self.sql = job_sql(db)
        self._enqueues: GroupCommit[NewJob, tuple[Job, bool] | Conflict] = GroupCommit(
            self._enqueue_batch
        )

    async def _emit(self, conn: AsyncConnection, changed: Sequence[Job]) -> None:
        await emit_job_events(self.db, conn, changed, public_url=self.public_url)

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
                await conn.execute(
                    sa.select(t.jobs).where(
                        J.id == job_id, J.org_id == org_id, J.parent_id.is_(None)
                    )
                )
            ).first()
            if row is None:
                raise NotFound(f"no job {job_id}")
            return (await _counting_shards(conn, [job_from_row(row)]))[0]

    async def list_jobs(
        self,
        org_id: str,
        *,
        statuses: Sequence[JobStatus] = (),
        created_after: float | None = None,
        created_before: float | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> ListPage[Job]:
        """Newest first; ``next_cursor`` is the last id of this page."""
        query = sa.select(t.jobs).where(J.org_id == org_id, J.parent_id.is_(None))
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
            jobs = await _counting_shards(conn, [job_from_row(r) for r in rows[:limit]])
        return ListPage(jobs, jobs[-1].id if len(rows) > limit else None)

    # -- cancel ---------------------------------------------------------------

    async def cancel(self, org_id: str, job_id: str) -> Job:
        """Cancel: a pending job at once, a processing one at its next page boundary.

        Idempotent: a finished job is returned as it is.
        """
        now = self.db.now()
        async with self.db.write() as conn:
            row = (
                await conn.execute(
                    sa.select(t.jobs)
                    .where(J.id == job_id, J.org_id == org_id, J.parent_id.is_(None))
                    .with_for_update()
                )
            ).first()
            if row is None:
                raise NotFound(f"no job {job_id}")
            job = job_from_row(row)
            if not job.status.is_final:
                # A split job's shards stop with it (running ones at their next page).
                await cancel_shards(self.db, conn, job_id)
            # Pending, or split and waiting for its shards with no run of its own: now.
            if job.status is JobStatus.PENDING or (
                job.status is JobStatus.PROCESSING and job.lease_token is None
            ):
                new_row = (
                    await conn.execute(
                        t.jobs.update()
                        .where(J.id == job_id, J.status == job.status.value)
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


async def _counting_shards(conn: AsyncConnection, jobs: list[Job]) -> list[Job]:
    """A split job's progress counts its shards' pages as well as its own."""
    done = await shard_progress(conn, jobs)
    return [replace(j, pages_done=j.pages_done + done[j.id]) if j.id in done else j for j in jobs]
