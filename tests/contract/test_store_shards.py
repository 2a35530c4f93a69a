"""A long document's shards in the store: split once, hidden, settled by the last part.

The worker side with real extractor children is tests/worker/test_shards.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from contract.test_store_jobs import add_endpoint, events_of, new_job
from pagewire.errors import NotFound
from pagewire.models import JobStatus, Lease
from pagewire.store import tables as t

J = t.jobs.c


def part(*numbers: int) -> dict[str, Any]:
    """A run's part as the child returns it: its pages, unassembled."""
    return {
        "pages": [
            {"number": n, "width": 1.0, "height": 1.0, "markdown": f"page {n}"} for n in numbers
        ],
        "page_count": 5,
    }


async def shard_rows(store: Any, job_id: str) -> list[Any]:
    async with store.db.read() as conn:
        return list(
            (
                await conn.execute(
                    sa.select(t.jobs).where(J.parent_id == job_id).order_by(J.options["pages"])
                )
            ).all()
        )


async def split_job(store: Any, tenant: Any) -> tuple[Any, Lease]:
    """A job claimed by w1 and split: w1 reads pages 1-2, the shards 3-4 and 5."""
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    [lease] = await store.leases.claim("w1", 1, 30)
    assert await store.shards.split(lease, ["3-4", "5"], 5) == ["3-4", "5"]
    return job, lease


async def record(store: Any, lease: Lease, *numbers: int, **kw: Any) -> tuple[bool, Any]:
    return await store.shards.record_part(
        lease, part(*numbers), worker_id=lease.job.id, lease_seconds=30, **kw
    )


async def test_a_shard_whose_lease_runs_out_is_run_again_alone_and_the_job_completes_once(
    store: Any, tenant: Any
) -> None:
    await add_endpoint(store, tenant.org_id)
    job, own = await split_job(store, tenant)
    # A re-run of the job (after a rescue) makes no second set of shards.
    assert await store.shards.split(own, ["3-4", "5"], 5) == ["3-4", "5"]
    assert [r.options["pages"] for r in await shard_rows(store, job.id)] == ["3-4", "5"]

    [dying] = await store.leases.claim("dying", 1, lease_seconds=-1)
    assert dying.job.parent_id == job.id
    rescued = await store.leases.rescue_expired()
    assert [(j.id, j.status) for j in rescued] == [(dying.job.id, JobStatus.PENDING)]
    waiting = await store.jobs.get(tenant.org_id, job.id)
    assert waiting.status is JobStatus.PROCESSING and waiting.lease_token == own.token

    shards = await store.leases.claim("w2", 2, 30)
    assert sorted(s.job.options["pages"] for s in shards) == ["3-4", "5"]
    assert {s.job.id for s in shards} >= {dying.job.id}
    assert await record(store, dying, 3, 4) == (False, None)  # its lease was lost

    # Progress counts every shard's pages beside the job's own.
    await store.leases.heartbeat(own, 30, pages_done=1, pages_total=5)
    three_four = next(s for s in shards if s.job.options["pages"] == "3-4")
    await store.leases.heartbeat(three_four, 30, pages_done=1, pages_total=2)
    assert (await store.jobs.get(tenant.org_id, job.id)).pages_done == 2

    for shard in shards:
        numbers = (3, 4) if shard.job.options["pages"] == "3-4" else (5,)
        assert await record(store, shard, *numbers) == (True, None)  # the job's part is missing
    recorded, assembler = await record(store, own, 1, 2)
    assert recorded and assembler is not None and assembler.job.id == job.id

    parts = await store.shards.parts(job.id)
    assert sorted(p["number"] for x in parts for p in x["pages"]) == [1, 2, 3, 4, 5]
    done = await store.leases.finish(assembler, JobStatus.COMPLETED, result={"markdown": "x"})
    assert done is not None and done.pages_done == 5

    assert [e for e, _ in await events_of(store, job.id)] == [
        "job.created",
        "job.processing",
        "job.completed",
    ]
    for shard in await shard_rows(store, job.id):
        assert await events_of(store, shard.id) == []
        with pytest.raises(NotFound):
            await store.jobs.get(tenant.org_id, shard.id)
        with pytest.raises(NotFound):
            await store.jobs.cancel(tenant.org_id, shard.id)
    assert [j.id for j in (await store.jobs.list_jobs(tenant.org_id)).data] == [job.id]
    assert (await store.stats.queue()).by_status == {"completed": 1}


async def test_two_last_parts_recorded_together_assemble_the_job_once(
    store: Any, tenant: Any
) -> None:
    job, own = await split_job(store, tenant)
    assert await record(store, own, 1, 2) == (True, None)  # waits for its shards
    waiting = await store.jobs.get(tenant.org_id, job.id)
    assert waiting.status is JobStatus.PROCESSING and waiting.lease_token is None
    assert await store.leases.rescue_expired() == []  # a waiting job has no lease to lose

    shards = await store.leases.claim("w2", 2, 30)
    outcomes = await asyncio.gather(
        *(record(store, s, *((3, 4) if s.job.options["pages"] == "3-4" else (5,))) for s in shards)
    )
    assemblers = [a for recorded, a in outcomes if recorded and a is not None]
    assert len(assemblers) == 1 and assemblers[0].job.id == job.id


async def test_a_failed_shard_fails_the_job_with_its_error_and_cancels_the_rest(
    store: Any, tenant: Any
) -> None:
    job, own = await split_job(store, tenant)
    [shard] = await store.leases.claim("w2", 1, 30)
    error = {"code": "extractor_crashed", "message": "the extractor crashed (SIGSEGV)"}

    assert await store.shards.record_part(
        shard, None, worker_id="w2", lease_seconds=30, status=JobStatus.FAILED, error=error
    ) == (True, None)

    failed = await store.jobs.get(tenant.org_id, job.id)
    assert failed.status is JobStatus.FAILED and failed.error == error
    assert (await events_of(store, job.id))[-1][0] == "job.failed"
    assert {r.status for r in await shard_rows(store, job.id)} == {"failed", "canceled"}
    # The job's own run learns at its next page that the job is no longer its own.
    assert not (await store.leases.heartbeat(own, 30, pages_done=1)).owned


async def test_cancel_stops_every_shard_and_a_waiting_job_at_once(store: Any, tenant: Any) -> None:
    job, own = await split_job(store, tenant)
    [running] = await store.leases.claim("w2", 1, 30)
    await store.jobs.cancel(tenant.org_id, job.id)

    assert (await store.leases.heartbeat(running, 30)).cancel_requested
    assert (await store.leases.heartbeat(own, 30)).cancel_requested
    statuses = {r.options["pages"]: r.status for r in await shard_rows(store, job.id)}
    assert sorted(statuses.values()) == ["canceled", "processing"]
    assert await store.leases.claim("w3", 5, 30) == []  # nothing of it is left to claim

    # Its own run stopped and ended the job; the running shard stops at its page.
    assert await store.leases.finish(own, JobStatus.CANCELED) is not None
    await store.shards.record_part(
        running, None, worker_id="w2", lease_seconds=30, status=JobStatus.CANCELED
    )
    assert (await store.jobs.get(tenant.org_id, job.id)).status is JobStatus.CANCELED
    assert [e for e, _ in await events_of(store, job.id)][-1] == "job.canceled"

    # A job waiting for its shards, with no run of its own, is canceled at once.
    other, lease = await split_job(store, tenant)
    await record(store, lease, 1, 2)
    assert (await store.jobs.cancel(tenant.org_id, other.id)).status is JobStatus.CANCELED
    assert {r.status for r in await shard_rows(store, other.id)} == {"canceled"}


async def test_retention_removes_the_shards_with_their_job(store: Any, tenant: Any) -> None:
    job, own = await split_job(store, tenant)
    await store.jobs.cancel(tenant.org_id, job.id)
    await store.leases.finish(own, JobStatus.CANCELED)

    expired = await store.retention.expire_jobs(older_than=-1)

    assert [j.id for j in expired] == [job.id]  # its input's key, deleted once
    assert await shard_rows(store, job.id) == []
