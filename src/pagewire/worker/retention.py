"""Retention: finished jobs' files and results expire; old messages, idempotency keys
and the endpoints of ``pagewire listen`` runs past their expiry go.

Runs inside every worker, a batch at a time (the store claims each batch with SKIP
LOCKED, so several workers share the sweep), keeping tables and the blob directory
small under a constant load. What goes is the store's business
(:mod:`pagewire.store.retention`); this loop also deletes the expired jobs' files
from the blob store, whichever it is (a directory or a bucket).
"""

from __future__ import annotations

import logging

from pagewire.blobs import BlobStore
from pagewire.errors import BlobStoreUnavailable
from pagewire.settings import Settings
from pagewire.store import Store

log = logging.getLogger("pagewire.retention")


async def expire_jobs(store: Store, blobs: BlobStore, older_than: float) -> int:
    """Expire one batch of finished jobs and delete their files; returns how many."""
    expired = await store.retention.expire_jobs(older_than)
    keys = [key for job in expired for key in (job.input.blob_key, job.result_blob_key) if key]
    for job in expired:
        log.info("job expired", extra={"fields": {"job_id": job.id, "org_id": job.org_id}})
    for done, key in enumerate(keys):
        try:
            await blobs.delete(key)
        except BlobStoreUnavailable:
            # The rows are expired already, so no later sweep finds these keys again:
            # say which objects stay behind (a bucket lifecycle rule is the backstop).
            log.error(
                "the blob store is unavailable: expired jobs' objects left behind",
                extra={"fields": {"keys": keys[done:]}},
            )
            raise
    return len(expired)


async def remove_expired_listen_endpoints(store: Store) -> int:
    """A ``listen`` killed with SIGKILL never deletes its endpoint: it goes at its expiry."""
    removed = await store.retention.remove_expired_listen_endpoints()
    for org_id, endpoint_id in removed:
        log.info(
            "expired listen endpoint removed",
            extra={"fields": {"endpoint_id": endpoint_id, "org_id": org_id}},
        )
    return len(removed)


async def sweep(store: Store, blobs: BlobStore, settings: Settings) -> None:
    await store.portal.prune()
    await remove_expired_listen_endpoints(store)
    while await store.idempotency.prune() > 0:
        pass
    if settings.job_retention_seconds > 0:
        while await expire_jobs(store, blobs, settings.job_retention_seconds) > 0:
            pass
    if settings.message_retention_seconds > 0:
        while await store.retention.prune_messages(settings.message_retention_seconds) > 0:
            pass
