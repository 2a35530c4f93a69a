"""The figures /metrics reports for the job queue, read by the store on both backends."""

from __future__ import annotations

from typing import Any

from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.store import Store


def new_job(org_id: str) -> NewJob:
    return NewJob(
        org_id=org_id, input=JobInput("a.pdf", None, None, None, 1, None), options={}, metadata={}
    )


async def test_the_queue_counts_jobs_by_status_and_ages_the_oldest_waiting_one(
    settings: Any, store: Any, tenant: Any
) -> None:
    now = [1_800_000_000.0]
    clocked = Store.from_settings(settings, clock=lambda: now[0])
    try:
        assert (await clocked.stats.queue()).by_status == {}
        assert (await clocked.stats.queue()).oldest_pending_age == 0.0

        await clocked.jobs.enqueue(new_job(tenant.org_id))
        now[0] += 30
        await clocked.jobs.enqueue(new_job(tenant.org_id))
        await clocked.jobs.enqueue(new_job(tenant.org_id))
        [lease] = await clocked.leases.claim("w", 1, 30)  # the oldest leaves the queue
        await clocked.leases.finish(lease, JobStatus.COMPLETED, result={})
        now[0] += 90

        counts = await clocked.stats.queue()
    finally:
        await clocked.close()

    assert counts.by_status == {"pending": 2, "completed": 1}
    assert counts.oldest_pending_age == 90.0  # the second job, not the finished first
