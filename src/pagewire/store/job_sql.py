"""What the job modules share: the row mapping, the hot statements, the events.

``jobs`` (the API's side), ``leases`` (the worker's side) and ``retention`` all
map ``jobs`` rows to :class:`~pagewire.models.Job` (:func:`job_from_row`) and write
one event per changed job in the same transaction (:func:`emit_job_events`).

Building a statement costs SQLAlchemy more than running it (and a new object means
a new cache key), so the statements every job passes through are built once per
database with bind parameters and reused (:func:`job_sql`), as
:mod:`pagewire.store.delivery_sql` does for the dispatcher.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from pagewire.events import job_event_payload
from pagewire.models import EVENT_FOR_STATUS, Job, JobInput, JobStatus, Lease, NewEvent
from pagewire.store import fair_claim, outbox
from pagewire.store import tables as t
from pagewire.store.db import Database

J = t.jobs.c


def held_by(lease: Lease) -> tuple[Any, ...]:
    """The WHERE of a write only the lease's holder may make: the job is still
    processing under this very lease (not rescued, re-leased or finished since)."""
    return (
        J.id == lease.job.id,
        J.status == JobStatus.PROCESSING.value,
        J.lease_token == lease.token,
    )


def job_from_row(row: Any) -> Job:
    m = row._mapping
    return Job(
        id=m["id"],
        org_id=m["org_id"],
        status=JobStatus(m["status"]),
        priority=m["priority"],
        attempts=m["attempts"],
        max_attempts=m["max_attempts"],
        input=JobInput(
            file_name=m["file_name"],
            file_url=m["file_url"],
            media_type=m["media_type"],
            sha256=m["sha256"],
            size=m["size"],
            blob_key=m["blob_key"],
        ),
        options=m["options"] or {},
        metadata=m["metadata"] or {},
        request=m["request"] or {},
        pages_done=m["pages_done"],
        pages_total=m["pages_total"],
        page_count=m["page_count"],
        result=m["result"],
        result_blob_key=m["result_blob_key"],
        result_size=m["result_size"],
        error=m["error"],
        cancel_requested=bool(m["cancel_requested"]),
        sequence=m["sequence"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        lease_token=m["lease_token"],
        idempotency_key=m["idempotency_key"],
        idempotency_fingerprint=m["idempotency_fingerprint"],
        parent_id=m["parent_id"],
    )


async def emit_job_events(
    db: Database, conn: AsyncConnection, changed: Sequence[Job], *, public_url: str
) -> None:
    """One event per changed job, named by its new status, in this transaction.

    A shard's changes are its job's business, never an event of their own."""
    changed = [job for job in changed if job.parent_id is None]
    if not changed:
        return
    await outbox.append(
        db,
        conn,
        [
            NewEvent(
                org_id=job.org_id,
                type=EVENT_FOR_STATUS[job.status],
                job_id=job.id,
                sequence=job.sequence,
                payload=job_event_payload(
                    EVENT_FOR_STATUS[job.status], job, public_url=public_url, at=job.updated_at
                ),
            )
            for job in changed
        ],
        now=changed[0].updated_at,
    )


# What a finish reads back: what changed since the claim (by this statement, by
# progress writes, by a cancel request). The rest is the lease's or what the finish
# wrote; decoding a result of up to 256 KB again would be work for nothing.
FINISH_RETURNS = [
    J[name]
    for name in (
        "id",
        "sequence",
        "page_count",
        "pages_done",
        "pages_total",
        "cancel_requested",
        "updated_at",
        "finished_at",
    )
]

# What a batch of finish() calls carries into its one UPDATE.
OUTCOME_COLUMNS: list[tuple[str, sa.types.TypeEngine[Any]]] = [
    ("id", t.Id),
    ("token", sa.String(40)),
    ("status", sa.String(16)),
    ("result", t.Json),
    ("result_blob_key", sa.String(200)),
    ("result_size", sa.BigInteger()),
    ("page_count", sa.Integer()),
    ("error", t.Json),
]


@dataclass(frozen=True)
class Finish:
    lease: Lease
    status: JobStatus
    result: dict[str, Any] | None
    result_blob_key: str | None
    result_size: int | None
    page_count: int | None
    error: dict[str, Any] | None


def finished_job(finish: Finish, row: Any) -> Job:
    """The job after its finish: the lease's job, what the finish wrote, what it read."""
    return replace(
        finish.lease.job,
        status=finish.status,
        result=finish.result,
        result_blob_key=finish.result_blob_key,
        result_size=finish.result_size,
        error=finish.error,
        lease_token=None,
        sequence=row.sequence,
        page_count=row.page_count,
        pages_done=row.pages_done,
        pages_total=row.pages_total,
        cancel_requested=bool(row.cancel_requested),
        updated_at=row.updated_at,
        finished_at=row.finished_at,
    )


def job_sql(db: Database) -> JobSQL:
    """The statements of submit, claim and finish for ``db``, built on first use."""
    return db.prepared("jobs", lambda: JobSQL(db))


class JobSQL:
    """The statements of submit, claim and finish for one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        now = db.now()
        self.insert = (
            t.jobs.insert()
            .values(created_at=now, updated_at=now)
            .returning(t.jobs, sort_by_parameter_order=True)
        )
        self.claim = self._claim()
        self.finish = self._finish()

    def _claim(self) -> Any:
        """Lease a fair share of pending jobs (:mod:`pagewire.store.fair_claim`).

        PostgreSQL chooses and leases in one UPDATE (SKIP LOCKED); SQLite chooses
        first (``choose``, then :func:`fair_claim.pick`) and leases the ids given.
        """
        now = self.db.now()
        if self.db.dialect.writes_in_ctes:
            self.lock_orgs = fair_claim.pg_lock_orgs()
            chosen = J.id == sa.any_(sa.func.array(fair_claim.pg_choose()))
        else:
            self.choose = fair_claim.sqlite_choose()
            chosen = self.db.dialect.among(J.id)
        return (
            t.jobs.update()
            # Pending still: a claim between SQLite's choice and this lease is impossible
            # (one writer), but the guard costs nothing and says what is leased.
            .where(chosen, J.status == JobStatus.PENDING.value)
            .values(
                status=JobStatus.PROCESSING.value,
                lease_token=sa.bindparam("claim_token", type_=sa.String()),
                lease_expires_at=now + sa.bindparam("claim_lease_seconds", type_=sa.Double()),
                worker_id=sa.bindparam("claim_worker_id", type_=sa.String()),
                attempts=J.attempts + 1,
                started_at=sa.func.coalesce(J.started_at, now),
                updated_at=now,
                sequence=J.sequence + 1,
            )
            .returning(t.jobs)
        )

    def _finish(self) -> Any:
        """Every lease-guarded outcome of a batch in one UPDATE; its rows as one parameter."""
        now = self.db.now()
        given = self.db.dialect.rows_table("outcome", OUTCOME_COLUMNS)
        v = given.c
        return (
            t.jobs.update()
            .where(
                self.db.dialect.among(J.id),
                J.id == v.id,
                J.status == JobStatus.PROCESSING.value,
                J.lease_token == v.token,
            )
            .values(
                status=v.status,
                result=v.result,
                result_blob_key=v.result_blob_key,
                result_size=v.result_size,
                error=v.error,
                finished_at=now,
                updated_at=now,
                lease_token=None,
                lease_expires_at=None,
                sequence=J.sequence + 1,
                page_count=sa.func.coalesce(v.page_count, J.page_count),
                pages_done=sa.case(
                    (
                        v.status == JobStatus.COMPLETED.value,
                        sa.func.coalesce(J.pages_total, J.pages_done),
                    ),
                    else_=J.pages_done,
                ),
            )
            .returning(*FINISH_RETURNS)
        )
