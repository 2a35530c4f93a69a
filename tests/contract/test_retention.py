"""Retention on both backends: finished jobs expire, old finished messages are pruned."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.store import tables as t
from pagewire.worker.retention import expire_jobs


async def finished_job(store: Any, org_id: str, blob_key: str | None = None) -> str:
    job, _ = await store.jobs.enqueue(
        NewJob(
            org_id=org_id,
            input=JobInput("a.pdf", None, "application/pdf", None, 1, blob_key),
            options={},
            metadata={"keep": "me"},
        )
    )
    [lease] = await store.leases.claim("w", 1, 30)
    await store.leases.finish(lease, JobStatus.COMPLETED, result={"markdown": "secret text"})
    return job.id


async def test_finished_jobs_expire_losing_result_and_files_but_keeping_the_record(
    store: Any, tenant: Any, tmp_path: Any
) -> None:
    from pagewire.blobs import LocalBlobStore

    async def pdf() -> Any:
        yield b"%PDF-"

    blobs = LocalBlobStore(tmp_path / "blobs")
    await blobs.put_stream("uploads/u1", pdf(), max_bytes=100)
    upload = tmp_path / "blobs" / "uploads" / "u1"
    assert upload.exists()
    old = await finished_job(store, tenant.org_id, blob_key="uploads/u1")
    await store.jobs.enqueue(
        NewJob(
            org_id=tenant.org_id,
            input=JobInput(None, None, None, None, None, None),
            options={},
            metadata={},
        )
    )

    assert await expire_jobs(store, blobs, older_than=3600) == 0  # too recent
    assert await expire_jobs(store, blobs, older_than=-1) == 1  # only the finished one

    job = await store.jobs.get(tenant.org_id, old)
    assert job.status is JobStatus.EXPIRED and job.result is None
    assert job.metadata == {"keep": "me"}
    assert not upload.exists()
    async with store.db.read() as conn:
        types = (
            (
                await conn.execute(
                    sa.select(t.events.c.type)
                    .where(t.events.c.job_id == old)
                    .order_by(t.events.c.sequence)
                )
            )
            .scalars()
            .all()
        )
    assert types[-1] == "job.expired"


async def test_old_messages_are_pruned_only_once_every_delivery_finished(
    store: Any, tenant: Any
) -> None:
    async with store.db.write() as conn:
        await conn.execute(
            t.endpoints.insert().values(
                id="ep_1",
                org_id=tenant.org_id,
                url="https://example.com/h",
                headers={},
                secret="whsec_x",
                created_at=0.0,
                updated_at=0.0,
            )
        )
    await finished_job(store, tenant.org_id)  # three events, each with a pending delivery

    assert await store.retention.prune_messages(older_than=-1) == 0  # pending deliveries keep them
    async with store.db.write() as conn:
        await conn.execute(t.deliveries.update().values(status="succeeded"))
    assert await store.retention.prune_messages(older_than=3600) == 0  # too recent
    assert await store.retention.prune_messages(older_than=-1) == 3
    async with store.db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(t.deliveries))).scalar()
    assert left == 0


async def test_expiring_hands_back_the_files_the_jobs_held_and_leaves_the_rest(
    store: Any, tenant: Any
) -> None:
    done = await finished_job(store, tenant.org_id, blob_key="uploads/done")
    await store.jobs.enqueue(
        NewJob(
            org_id=tenant.org_id,
            input=JobInput("b.pdf", None, None, None, 1, "uploads/waiting"),
            options={},
            metadata={},
        )
    )

    [expired] = await store.retention.expire_jobs(older_than=-1)
    again = await store.retention.expire_jobs(older_than=-1)

    # as it was before: the caller deletes these files
    assert expired.id == done and expired.input.blob_key == "uploads/done"
    assert expired.status is JobStatus.COMPLETED
    assert (await store.jobs.get(tenant.org_id, done)).input.blob_key is None
    assert again == []  # an expired job is not expired twice; a pending one never
