"""The dispatcher's decisions with a scripted sender (tests/fakes): no sockets.

What the receivers answer is scripted per URL, and the store's clock is set by
the test, so each test checks what the dispatcher decided and recorded: when a
retry is due, when an endpoint is disabled, what is handed back unsent, how
many requests an endpoint has at once. The real network is tested beside these,
in test_delivery.py. They run on SQLite: the store's side is the contract
suite's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from fakes import Answer, FakeSender
from pagewire.dispatch.retry_policy import DeliveryRetryPolicy
from pagewire.store import Store
from pagewire.store.migrate import upgrade
from webhooks.support import emit, until


@pytest.fixture
def backend(tmp_path: Path) -> Any:
    from support import Backend

    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


@pytest.fixture
async def clocked(settings: Any) -> AsyncIterator[tuple[Store, list[float]]]:
    """A store whose clock stands still until the test moves it."""
    now = [1_800_000_000.0]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.from_settings(settings, clock=lambda: now[0])
    await upgrade(store.db)
    yield store, now
    await store.close()


async def delivery(store: Store, org_id: str, event_id: str) -> Any:
    [found] = (await store.webhooks.get_message(org_id, event_id)).deliveries
    return found


async def test_a_503_with_retry_after_is_retried_when_the_policy_says(
    clocked: Any, tenant: Any, run_dispatcher: Any
) -> None:
    store, now = clocked
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://busy.example/hook")
    sender = FakeSender()
    sender.script(endpoint.url, Answer(503, retry_after="120"))
    event_id, _ = await emit(store, tenant.org_id)
    policy = DeliveryRetryPolicy(schedule=(0, 5, 5), jitter=0, max_retry_after=3600)
    await run_dispatcher(on_store=store, sender=sender, policy=policy)

    async def first_attempt_recorded() -> Any:
        found = await delivery(store, tenant.org_id, event_id)
        return found if found.attempt_log else None

    retry = await until("the first attempt is recorded", first_attempt_recorded)

    # The schedule's 5 s, pushed to the 120 s the receiver asked for.
    assert retry.status == "pending" and retry.attempts == 1
    assert retry.next_attempt_at == pytest.approx(now[0] + 120)
    assert retry.last_status_code == 503
    assert len(sender.sent) == 1  # not before its time (the store's clock stands still)

    now[0] += 121  # due now: found at the next poll
    done = await until("the retry is recorded", lambda: _settled(store, tenant.org_id, event_id))
    assert done.status == "succeeded" and done.attempts == 2
    assert len(sender.sent) == 2


@pytest.mark.parametrize(("disable_after", "disabled"), [(100.0, True), (1000.0, False)])
async def test_an_endpoint_that_only_failed_for_the_policys_limit_is_disabled(
    clocked: Any, tenant: Any, run_dispatcher: Any, disable_after: float, disabled: bool
) -> None:
    store, now = clocked
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://down.example/hook")
    sender = FakeSender(default=Answer(error="connection refused"))
    event_id, _ = await emit(store, tenant.org_id)
    await run_dispatcher(
        on_store=store,
        sender=sender,
        webhook_retry_schedule="0,60,60",
        webhook_disable_after_seconds=disable_after,
    )

    async def attempts_recorded(count: int) -> Any:
        found = await delivery(store, tenant.org_id, event_id)
        return found if len(found.attempt_log) == count else None

    await until("the first failure is recorded", lambda: attempts_recorded(1))
    now[0] += 150  # the retry is due, 150 s into the endpoint's failures
    await until("the second failure is recorded", lambda: attempts_recorded(2))

    found = await store.webhooks.get_endpoint(tenant.org_id, endpoint.id)
    if disabled:
        assert not found.enabled
        assert found.disabled_reason == "every delivery attempt failed for 150 seconds"
        assert (await delivery(store, tenant.org_id, event_id)).status == "failed"
    else:
        assert found.enabled and found.disabled_reason is None
    assert len(sender.sent) == 2


async def test_a_delivery_held_past_what_its_lease_covers_is_handed_back_not_sent(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://slow.example/hook")
    answer_first = asyncio.Event()
    sender = FakeSender()
    sender.script(endpoint.url, Answer(until=answer_first))
    first, _ = await emit(store, tenant.org_id)
    second, _ = await emit(store, tenant.org_id)
    released: list[str] = []
    release = store.deliveries.release

    async def noting_release(claimed: Any) -> None:
        released.extend(c.event_id for c in claimed)
        await release(claimed)

    store.deliveries.release = noting_release
    ahead = [0.0]  # how far the dispatcher's clock runs ahead of the claims' stamps
    # One request at a time to the endpoint: the second delivery waits in its lane
    # behind the first, which its lease (3 s, for requests of up to 1 s) can cover
    # for 1 s at most.
    await run_dispatcher(
        sender=sender,
        clock=lambda: time.monotonic() + ahead[0],
        webhook_per_endpoint_concurrency=1,
        webhook_timeout_seconds=1.0,
        webhook_lease_seconds=3.0,
    )
    await sender.wait_until(lambda: len(sender.sent) == 1, "the first request starts")

    ahead[0] = 60.0  # the first request takes a minute, as the dispatcher sees it
    answer_first.set()
    await until("the second is handed back", lambda: released)
    ahead[0] = 0.0  # claimed afresh, it can be sent in time

    await sender.wait_until(lambda: len(sender.sent) == 2, "the second is sent")
    assert [d.event_id for d in sender.sent] == [first, second]
    assert set(released) == {second}
    settled = await until("the second is recorded", lambda: _settled(store, tenant.org_id, second))
    # Handed back unsent, its attempts were not counted.
    assert settled.status == "succeeded" and settled.attempts == 1
    assert len(settled.attempt_log) == 1


async def test_a_slow_endpoint_holds_only_its_own_slots_and_the_others_are_served(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    slow = await store.webhooks.create_endpoint(tenant.org_id, "https://slow.example/hook")
    fast = await store.webhooks.create_endpoint(tenant.org_id, "https://fast.example/hook")
    answer_slow = asyncio.Event()
    sender = FakeSender()
    sender.script(slow.url, *[Answer(until=answer_slow)] * 6)
    for _ in range(6):
        await emit(store, tenant.org_id)  # each to both endpoints
    await run_dispatcher(sender=sender, webhook_concurrency=8, webhook_per_endpoint_concurrency=2)

    await sender.wait_until(
        lambda: len(sender.sent_to(fast.url)) == 6, "the fast endpoint gets all six"
    )
    assert len(sender.sent_to(slow.url)) == 2  # its cap, while its requests hang
    answer_slow.set()
    await sender.wait_until(
        lambda: len(sender.sent_to(slow.url)) == 6, "the slow endpoint gets all six"
    )
    assert sender.most_in_flight[slow.url] == 2 and sender.most_in_flight[fast.url] <= 2


async def _settled(store: Store, org_id: str, event_id: str) -> Any:
    found = await delivery(store, org_id, event_id)
    return found if found.status != "pending" else None
