"""An endpoint's delivery health (attempts per hour by outcome, p50/p99), on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from pagewire.models import AttemptRecord
from pagewire.store import Store
from support import Tenant
from webhooks.support import emit

NOW = 1_800_000_000.0 + 1234.5  # 34 minutes into an hour
HOUR = 3600.0


@pytest.fixture
async def clocked(settings: Any) -> AsyncIterator[tuple[Store, list[float]]]:
    """A store on the test's database whose clock the test sets (``now[0]``)."""
    now = [NOW]
    store = Store.from_settings(settings, clock=lambda: now[0])
    yield store, now
    await store.close()


async def attempts_at(
    store: Store, org_id: str, answers: list[tuple[str, int | None, float | None]]
) -> None:
    """One message per answer (its type, the status code, the latency), each attempted once."""
    for type_, _, _ in answers:
        await emit(store, org_id, type_=type_)
    claimed = await store.deliveries.claim_deliveries(50, lease_seconds=30, per_endpoint=50)
    assert len(claimed) == len(answers)
    await store.deliveries.record_attempts(
        [
            AttemptRecord(
                delivery=c,
                verdict="succeeded" if code == 200 else "failed",
                status_code=code,
                latency_ms=ms,
                error=None if code else "connection refused",
                reason=None if code == 200 else "out of retries",
            )
            for c, (_, code, ms) in zip(claimed, answers, strict=True)
        ]
    )


async def test_health_counts_each_hour_by_outcome_and_ranks_response_times(
    clocked: tuple[Store, list[float]], tenant: Tenant, other_tenant: Tenant
) -> None:
    store, now = clocked
    mine = await store.webhooks.create_endpoint(
        tenant.org_id, "https://a.example.com/h", event_types=["job.completed"]
    )
    sibling = await store.webhooks.create_endpoint(
        tenant.org_id, "https://b.example.com/h", event_types=["job.failed"]
    )
    await store.webhooks.create_endpoint(other_tenant.org_id, "https://c.example.com/h")
    done = "job.completed"

    now[0] = NOW - 8 * 86400  # before the window: left out
    await attempts_at(store, tenant.org_id, [(done, 200, 1000.0), (done, 500, 2000.0)])
    now[0] = NOW - 3 * 86400
    three_days_ago = [(done, 200, float(ms)) for ms in (1, 2, 3, 5, 6)] + [(done, 500, 4.0)]
    await attempts_at(store, tenant.org_id, three_days_ago)
    now[0] = NOW - HOUR
    await attempts_at(
        store,
        tenant.org_id,
        [
            *[(done, 200, ms) for ms in (7.0, 8.0, 9.0)],
            (done, 503, 10.0),
            (done, None, None),
            ("job.failed", 200, 999.0),  # the sibling's: not counted here
        ],
    )
    await attempts_at(store, other_tenant.org_id, [(done, 200, 5000.0)])  # not ours
    now[0] = NOW

    health = await store.stats.delivery_health(tenant.org_id, mine.id)
    sibling_health = await store.stats.delivery_health(tenant.org_id, sibling.id)
    not_ours = await store.stats.delivery_health(other_tenant.org_id, mine.id)

    this_hour = NOW // HOUR * HOUR
    assert health.until == this_hour + HOUR and health.since == health.until - 7 * 86400
    assert [(h.start, h.succeeded, h.failed) for h in health.hours] == [
        (this_hour - 3 * 86400, 5, 1),
        (this_hour - HOUR, 3, 2),  # the refused connection is a failed attempt too
    ]
    assert health.timed == 10  # the attempt recorded without a latency is not ranked
    assert (health.p50_ms, health.p99_ms) == (5.0, 10.0)
    assert [(h.succeeded, h.failed) for h in sibling_health.hours] == [(1, 0)]
    assert sibling_health.p50_ms == sibling_health.p99_ms == 999.0
    assert not_ours.hours == () and not_ours.p50_ms is None and not_ours.timed == 0


async def test_an_attempt_in_the_last_second_of_an_hour_counts_in_that_hour(
    clocked: tuple[Store, list[float]], tenant: Tenant
) -> None:
    store, now = clocked
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://a.example.com/h")
    top_of_hour = NOW // HOUR * HOUR
    now[0] = top_of_hour - 0.4  # a rounding cast would put it in the next hour

    await attempts_at(store, tenant.org_id, [("job.completed", 200, 3.0)])
    now[0] = NOW
    health = await store.stats.delivery_health(tenant.org_id, endpoint.id)

    assert [h.start for h in health.hours] == [top_of_hour - HOUR]
