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


async def test_the_sweep_removes_listen_endpoints_past_their_expiry_and_nothing_else(
    settings: Any, store: Any, tenant: Any, other_tenant: Any, tmp_path: Any
) -> None:
    """A ``pagewire listen`` killed with SIGKILL never deletes its endpoint; the worker's
    sweep does once its expiry passes, even if no ``listen`` ever runs again."""
    from pagewire.blobs import LocalBlobStore
    from pagewire.cli.listen import EXPIRES_AFTER_SECONDS, marker
    from pagewire.settings import Settings
    from pagewire.store import Store
    from pagewire.worker.retention import sweep

    started = 1_800_000_000.0
    now = [started]
    clocked = Store.from_settings(settings, clock=lambda: now[0])
    blobs = LocalBlobStore(tmp_path / "blobs")
    try:
        webhooks = clocked.webhooks

        async def endpoint(org_id: str, description: str | None) -> str:
            made = await webhooks.create_endpoint(
                org_id, "http://127.0.0.1:9/hook", description=description
            )
            return str(made.id)

        await endpoint(tenant.org_id, marker("m0123456789", started))  # its listen was killed
        await endpoint(other_tenant.org_id, marker("mabcdefabcd", started))
        renewed = await endpoint(tenant.org_id, marker("m0123456789", started))
        kept = [
            await endpoint(tenant.org_id, description)
            for description in (
                None,
                "orders service",
                "pagewire listen by hand, expires 2001-01-01T00:00:00Z",
                "pagewire listen m0123456789 expires 2001-01-01T00:00:00Z (keep)",
                "pagewire listen m0123456789 expires 2001-13-01T00:00:00Z",
                "Pagewire listen m0123456789 expires 2001-01-01T00:00:00Z",
            )
        ]
        quick = Settings(job_retention_seconds=0, message_retention_seconds=0)

        await sweep(clocked, blobs, quick)
        assert len((await webhooks.list_endpoints(tenant.org_id)).data) == 8  # none expired yet

        now[0] = started + EXPIRES_AFTER_SECONDS - 60
        await webhooks.update_endpoint(
            tenant.org_id, renewed, description=marker("m0123456789", now[0])
        )
        now[0] = started + EXPIRES_AFTER_SECONDS + 1
        await sweep(clocked, blobs, quick)

        left = {e.id for e in (await webhooks.list_endpoints(tenant.org_id)).data}
        assert left == {renewed, *kept}
        assert (await webhooks.list_endpoints(other_tenant.org_id)).data == []
    finally:
        await clocked.close()
