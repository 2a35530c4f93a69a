"""The job store's contract, run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.errors import Conflict, NotFound
from pagewire.ids import new_id
from pagewire.models import JobInput, JobStatus, NewJob
from pagewire.store import tables as t
from support import POSTGRES_ONLY


def new_job(org_id: str, **overrides: Any) -> NewJob:
    values: dict[str, Any] = {
        "org_id": org_id,
        "input": JobInput("a.pdf", None, "application/pdf", "0" * 64, 10, "uploads/x"),
        "options": {"pages": None},
        "metadata": {"user_id": "u1"},
    }
    values.update(overrides)
    return NewJob(**values)


async def add_endpoint(store: Any, org_id: str, event_types: list[str] | None = None) -> str:
    endpoint_id = new_id("ep")
    async with store.db.write() as conn:
        await conn.execute(
            t.endpoints.insert().values(
                id=endpoint_id,
                org_id=org_id,
                url="https://example.com/hook",
                headers={},
                event_types=event_types,
                secret="whsec_x",
                created_at=0.0,
                updated_at=0.0,
            )
        )
    return endpoint_id


async def events_of(store: Any, job_id: str) -> list[tuple[str, int]]:
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.events.c.type, t.events.c.sequence)
                .where(t.events.c.job_id == job_id)
                .order_by(t.events.c.sequence)
            )
        ).all()
    return [(r.type, r.sequence) for r in rows]


async def test_enqueue_writes_the_job_its_created_event_and_one_delivery_per_endpoint(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    await add_endpoint(store, tenant.org_id)
    await add_endpoint(store, tenant.org_id, event_types=["job.completed"])
    await add_endpoint(store, other_tenant.org_id)

    job, created = await store.jobs.enqueue(new_job(tenant.org_id))

    assert created and job.status is JobStatus.PENDING and job.id.startswith("job_")
    assert await events_of(store, job.id) == [("job.created", 1)]
    async with store.db.read() as conn:
        deliveries = (
            await conn.execute(sa.select(t.deliveries).where(t.deliveries.c.job_id == job.id))
        ).all()
        payload = (await conn.execute(sa.select(t.events.c.payload))).scalar_one()
    # one for the endpoint taking every event; none for the filtered one or the other org's
    assert len(deliveries) == 1
    assert payload["data"]["job_id"] == job.id
    assert payload["data"]["metadata"] == {"user_id": "u1"}
    assert payload["data"]["url"] == f"http://testserver/job/{job.id}"


async def test_same_idempotency_key_and_request_returns_the_first_job(
    store: Any, tenant: Any
) -> None:
    first, created = await store.jobs.enqueue(
        new_job(tenant.org_id, idempotency_key="k1", idempotency_fingerprint="f1")
    )
    again, created_again = await store.jobs.enqueue(
        new_job(tenant.org_id, idempotency_key="k1", idempotency_fingerprint="f1")
    )
    assert created and not created_again and again.id == first.id
    with pytest.raises(Conflict) as error:
        await store.jobs.enqueue(
            new_job(tenant.org_id, idempotency_key="k1", idempotency_fingerprint="other")
        )
    assert error.value.code == "idempotency_conflict"


async def test_twenty_concurrent_submissions_with_one_key_make_one_job(
    store: Any, tenant: Any
) -> None:
    results = await asyncio.gather(
        *(
            store.jobs.enqueue(
                new_job(tenant.org_id, idempotency_key="same", idempotency_fingerprint="f")
            )
            for _ in range(20)
        )
    )
    assert len({job.id for job, _ in results}) == 1
    assert sum(created for _, created in results) == 1


async def test_claims_take_higher_priority_first_then_submission_order(
    store: Any, tenant: Any
) -> None:
    low = [(await store.jobs.enqueue(new_job(tenant.org_id)))[0] for _ in range(3)]
    high, _ = await store.jobs.enqueue(new_job(tenant.org_id, priority=5))

    leases = await store.leases.claim("w1", 10, 30)

    assert [lease.job.id for lease in leases] == [high.id] + [j.id for j in low]
    assert all(
        lease.job.status is JobStatus.PROCESSING and lease.job.attempts == 1 for lease in leases
    )
    assert await events_of(store, high.id) == [("job.created", 1), ("job.processing", 2)]


async def test_concurrent_claimers_never_hold_the_same_job(store: Any, tenant: Any) -> None:
    for _ in range(60):
        await store.jobs.enqueue(new_job(tenant.org_id))

    async def claimer(name: str) -> list[str]:
        got: list[str] = []
        while leases := await store.leases.claim(name, 3, 30):
            got.extend(lease.job.id for lease in leases)
        return got

    claimed = await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    every = [job_id for part in claimed for job_id in part]
    assert len(every) == 60 and len(set(every)) == 60


async def test_finish_records_the_outcome_and_its_event(store: Any, tenant: Any) -> None:
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    [lease] = await store.leases.claim("w1", 1, 30)
    await store.leases.heartbeat(lease, 30, pages_done=3, pages_total=4)

    done = await store.leases.finish(
        lease, JobStatus.COMPLETED, result={"markdown": "# Hi"}, page_count=4
    )

    assert done is not None and done.status is JobStatus.COMPLETED
    assert done.result == {"markdown": "# Hi"} and done.page_count == 4 and done.pages_done == 4
    assert done.finished_at is not None and done.lease_token is None
    assert [e for e, _ in await events_of(store, job.id)] == [
        "job.created",
        "job.processing",
        "job.completed",
    ]


async def test_a_rescued_jobs_old_worker_cannot_overwrite_it(store: Any, tenant: Any) -> None:
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    [old] = await store.leases.claim("old-worker", 1, lease_seconds=-1)  # already expired

    rescued = await store.leases.rescue_expired()
    assert [j.status for j in rescued] == [JobStatus.PENDING]
    [new] = await store.leases.claim("new-worker", 1, 30)
    assert new.job.id == job.id and new.job.attempts == 2

    state = await store.leases.heartbeat(old, 30, pages_done=1)
    late = await store.leases.finish(old, JobStatus.FAILED, error={"code": "x", "message": "y"})

    assert state.owned is False and late is None
    assert (await store.leases.finish(new, JobStatus.COMPLETED, result={})) is not None
    assert (await store.jobs.get(tenant.org_id, job.id)).status is JobStatus.COMPLETED


async def test_a_job_whose_worker_keeps_dying_fails_with_worker_lost(
    store: Any, tenant: Any
) -> None:
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    for _ in range(job.max_attempts):
        assert await store.leases.claim("dying", 1, lease_seconds=-1)
        await store.leases.rescue_expired()

    failed = await store.jobs.get(tenant.org_id, job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and failed.error["code"] == "worker_lost"
    assert (await events_of(store, job.id))[-1][0] == "job.failed"


async def test_heartbeats_keep_a_lease_alive(store: Any, tenant: Any) -> None:
    await store.jobs.enqueue(new_job(tenant.org_id))
    [lease] = await store.leases.claim("w1", 1, lease_seconds=-1)
    state = await store.leases.heartbeat(lease, 30)
    assert state.owned and not state.cancel_requested
    assert await store.leases.rescue_expired() == []


async def test_cancel_a_pending_job_at_once_and_a_processing_one_by_request(
    store: Any, tenant: Any
) -> None:
    pending, _ = await store.jobs.enqueue(new_job(tenant.org_id, priority=-1))
    running, _ = await store.jobs.enqueue(new_job(tenant.org_id, priority=1))
    [lease] = await store.leases.claim("w1", 1, 30)
    assert lease.job.id == running.id

    canceled = await store.jobs.cancel(tenant.org_id, pending.id)
    asked = await store.jobs.cancel(tenant.org_id, running.id)

    assert canceled.status is JobStatus.CANCELED
    assert (await events_of(store, pending.id))[-1] == ("job.canceled", 2)
    assert asked.status is JobStatus.PROCESSING and asked.cancel_requested
    assert (await store.leases.heartbeat(lease, 30)).cancel_requested
    # idempotent
    assert (await store.jobs.cancel(tenant.org_id, pending.id)).status is JobStatus.CANCELED
    assert await store.leases.claim("w2", 5, 30) == []


async def test_another_organizations_job_is_not_found(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    with pytest.raises(NotFound):
        await store.jobs.get(other_tenant.org_id, job.id)
    with pytest.raises(NotFound):
        await store.jobs.cancel(other_tenant.org_id, job.id)
    assert (await store.jobs.list_jobs(other_tenant.org_id)).data == []


async def test_list_pages_newest_first_with_status_filter(store: Any, tenant: Any) -> None:
    ids = [(await store.jobs.enqueue(new_job(tenant.org_id)))[0].id for _ in range(5)]
    await store.jobs.cancel(tenant.org_id, ids[0])

    first = await store.jobs.list_jobs(tenant.org_id, limit=2)
    second = await store.jobs.list_jobs(tenant.org_id, limit=2, cursor=first.next_cursor)
    third = await store.jobs.list_jobs(tenant.org_id, limit=2, cursor=second.next_cursor)
    canceled = await store.jobs.list_jobs(tenant.org_id, statuses=[JobStatus.CANCELED])

    assert [j.id for j in first.data + second.data + third.data] == ids[::-1]
    assert third.next_cursor is None
    assert [j.id for j in canceled.data] == [ids[0]]


async def test_release_gives_a_job_back_without_counting_the_attempt(
    store: Any, tenant: Any
) -> None:
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
    [lease] = await store.leases.claim("w1", 1, 30)
    assert await store.leases.release(lease)
    again = await store.jobs.get(tenant.org_id, job.id)
    assert again.status is JobStatus.PENDING and again.attempts == 0


async def test_revoked_keys_no_longer_authenticate(store: Any, tenant: Any) -> None:
    from pagewire.errors import Unauthenticated

    assert (await store.keys.authenticate(tenant.api_key)).org_id == tenant.org_id
    await store.keys.revoke(tenant.key_id)
    with pytest.raises(Unauthenticated):
        await store.keys.authenticate(tenant.api_key)
    listed = await store.keys.list_keys(tenant.org_id)
    assert tenant.api_key not in repr(listed)


@POSTGRES_ONLY
async def test_a_worker_elsewhere_is_woken_by_notify_or_else_polls(
    store: Any, tenant: Any, settings: Any
) -> None:
    from pagewire.store import Store

    listening = Store.from_settings(settings)
    pooled = Store.from_settings(settings.model_copy(update={"listen_notify": False}))
    try:
        await listening.db.start_listening()
        await pooled.db.start_listening()
        woken = asyncio.create_task(listening.db.wait("pagewire_jobs", 10))
        polled = asyncio.create_task(pooled.db.wait("pagewire_jobs", 0.5))
        # No pause needed: a wake-up that comes before the wait starts stays set for it.
        await store.jobs.enqueue(new_job(tenant.org_id))
        assert await asyncio.wait_for(woken, 5) is True
        assert await polled is False  # behind a pooler: no wake-up, the poll timeout
        assert len(await pooled.leases.claim("w", 5, 30)) == 1  # and polling still finds it
    finally:
        await listening.close()
        await pooled.close()


async def test_one_statement_keeps_all_of_a_workers_leases_alive(store: Any, tenant: Any) -> None:
    for _ in range(3):
        await store.jobs.enqueue(new_job(tenant.org_id))
    kept, rescued, canceled = await store.leases.claim("w1", 3, lease_seconds=-1)
    await store.leases.heartbeat(kept, 30)
    await store.leases.heartbeat(canceled, 30)
    await store.leases.rescue_expired()  # takes only the one whose lease ran out
    await store.jobs.cancel(tenant.org_id, canceled.job.id)

    states = await store.leases.heartbeat_all([kept, rescued, canceled], 30)

    assert states[kept.job.id].owned and not states[kept.job.id].cancel_requested
    assert not states[rescued.job.id].owned
    assert states[canceled.job.id].owned and states[canceled.job.id].cancel_requested
    assert await store.leases.rescue_expired() == []  # the kept leases were extended
