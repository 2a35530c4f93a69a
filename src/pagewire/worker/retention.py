"""Retention: finished jobs' files and results expire; old messages and idempotency keys go.

Runs inside every worker, a batch at a time (the store claims each batch with SKIP
LOCKED, so several workers share the sweep), keeping tables and the blob directory
small under a constant load.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from pagewire.blobs import LocalBlobStore
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.store import tables as t

log = logging.getLogger("pagewire.retention")


async def expire_jobs(store: Store, blobs: LocalBlobStore, older_than: float) -> int:
    """Expire one batch of finished jobs and delete their files; returns how many."""
    expired = await store.retention.expire_jobs(older_than)
    for job in expired:
        for key in (job.input.blob_key, job.result_blob_key):
            if key is not None:
                await blobs.delete(key)
        log.info("job expired", extra={"fields": {"job_id": job.id, "org_id": job.org_id}})
    return len(expired)


async def prune_messages(store: Store, older_than: float, limit: int = 1000) -> int:
    """Delete events older than ``older_than`` seconds whose deliveries all finished.

    Their deliveries and attempts go with them (ON DELETE CASCADE). An event that
    still has a pending delivery is kept however old it is: nothing is lost.
    """
    db = store.db
    unfinished = sa.select(t.deliveries.c.id).where(
        t.deliveries.c.event_id == t.events.c.id, t.deliveries.c.status == "pending"
    )
    async with db.write() as conn:
        old = (
            sa.select(t.events.c.id)
            .where(t.events.c.created_at < db.now() - older_than, ~unfinished.exists())
            .limit(limit)
            .scalar_subquery()
        )
        result = await conn.execute(t.events.delete().where(t.events.c.id.in_(old)))
    return int(result.rowcount or 0)


async def sweep(store: Store, blobs: LocalBlobStore, settings: Settings) -> None:
    await store.portal.prune()
    while await store.idempotency.prune() > 0:
        pass
    if settings.job_retention_seconds > 0:
        while await expire_jobs(store, blobs, settings.job_retention_seconds) > 0:
            pass
    if settings.message_retention_seconds > 0:
        while await prune_messages(store, settings.message_retention_seconds) > 0:
            pass
