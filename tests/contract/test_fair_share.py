"""Claims share the workers between organizations (store/fair_claim.py), on both backends."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.store import tables as t


async def enqueue(store: Any, org_id: str, count: int, priority: int = 0) -> list[str]:
    """``count`` jobs of ``org_id``, in submission order."""
    job = NewJob(
        org_id=org_id,
        input=JobInput("a.pdf", None, "application/pdf", "0" * 64, 10, "uploads/x"),
        options={},
        metadata={},
        priority=priority,
    )
    return [(await store.jobs.enqueue(job))[0].id for _ in range(count)]


async def running_by_org(store: Any) -> Counter[str]:
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.jobs.c.org_id).where(t.jobs.c.status == JobStatus.PROCESSING.value)
            )
        ).all()
    return Counter(row.org_id for row in rows)


@pytest.mark.parametrize("batch", [1, 5])
async def test_a_late_organizations_job_is_claimed_within_two_rounds_of_a_big_backlog(
    store: Any, tenant: Any, other_tenant: Any, batch: int
) -> None:
    await enqueue(store, tenant.org_id, 40)
    [late] = await enqueue(store, other_tenant.org_id, 1)

    first = await store.leases.claim("w1", batch, 30)
    second = await store.leases.claim("w2", batch, 30)

    claimed = [lease.job.id for lease in first + second]
    assert late in claimed
    # under plain FIFO the late job would wait for all 40 of the backlog
    assert len(claimed) == 2 * batch


async def test_a_claim_deals_the_organizations_in_turns_fewest_running_first(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    a_jobs = await enqueue(store, tenant.org_id, 10)
    await store.leases.claim("w0", 4, 30)  # four of A's running: B has the next turns
    b_jobs = await enqueue(store, other_tenant.org_id, 6)

    leases = await store.leases.claim("w1", 6, 30)

    took = Counter(lease.job.org_id for lease in leases)
    # B's first five turns (1..5) come before A's fifth job (turn 5), tie to the older
    assert took == {other_tenant.org_id: 5, tenant.org_id: 1}
    assert {lease.job.id for lease in leases} == set(b_jobs[:5]) | {a_jobs[4]}


async def test_priority_still_orders_the_jobs_of_one_organization(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    low = await enqueue(store, tenant.org_id, 3)
    high = await enqueue(store, tenant.org_id, 2, priority=5)
    await enqueue(store, other_tenant.org_id, 5, priority=9)

    taken: list[str] = []
    while leases := await store.leases.claim("w", 2, 30):
        taken += [lease.job.id for lease in leases if lease.job.org_id == tenant.org_id]

    assert taken == high + low


async def test_an_organization_never_runs_more_than_its_cap(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    a_jobs = await enqueue(store, tenant.org_id, 12)
    await enqueue(store, other_tenant.org_id, 3)

    leases = await store.leases.claim("w1", 10, 30, org_cap=2)

    assert Counter(lease.job.org_id for lease in leases) == {
        tenant.org_id: 2,
        other_tenant.org_id: 2,
    }
    assert await store.leases.claim("w2", 10, 30, org_cap=2) == []
    # a finished job frees one slot of its organization, and one only
    a_lease = next(lease for lease in leases if lease.job.org_id == tenant.org_id)
    await store.leases.finish(a_lease, JobStatus.COMPLETED, result={})
    [next_one] = await store.leases.claim("w3", 10, 30, org_cap=2)
    assert next_one.job.id == a_jobs[2]
    assert (await running_by_org(store))[tenant.org_id] == 2


async def test_concurrent_claims_keep_the_cap_and_never_share_a_job(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    await enqueue(store, tenant.org_id, 30)
    await enqueue(store, other_tenant.org_id, 30)
    held: list[Any] = []

    async def claimer(name: str) -> None:
        for _ in range(5):
            leases = await store.leases.claim(name, 4, 30, org_cap=3)
            held.extend(leases)
            running = await running_by_org(store)
            assert max(running.values(), default=0) <= 3
            for lease in leases[:1]:  # finish one, keep the rest running
                await store.leases.finish(lease, JobStatus.COMPLETED, result={})

    await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))

    ids = [lease.job.id for lease in held]
    assert len(ids) == len(set(ids))
    assert max((await running_by_org(store)).values()) <= 3


async def test_canceled_and_leased_jobs_are_not_claimed_again(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    [canceled, kept] = await enqueue(store, tenant.org_id, 2)
    await store.jobs.cancel(tenant.org_id, canceled)
    [other] = await enqueue(store, other_tenant.org_id, 1)

    first = await store.leases.claim("w1", 10, 30)
    again = await store.leases.claim("w2", 10, 30)

    assert {lease.job.id for lease in first} == {kept, other}
    assert again == []


async def test_the_cap_comes_from_pagewire_org_concurrency(
    settings_factory: Any, store: Any, tenant: Any
) -> None:
    from pagewire.store import Store

    await enqueue(store, tenant.org_id, 5)
    capped = Store.from_settings(settings_factory(org_concurrency=1))
    try:
        assert len(await capped.leases.claim("w1", 5, 30)) == 1
        assert await capped.leases.claim("w2", 5, 30) == []
    finally:
        await capped.close()
