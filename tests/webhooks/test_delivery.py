"""The dispatcher against real receivers on loopback: signing, retries, order, isolation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from pagewire.models import JobStatus
from pagewire.store import Store
from webhooks.support import Received, Receiver, emit, new_job, until, verifies


async def test_a_receiver_that_fails_twice_gets_three_attempts_with_one_webhook_id(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    receiver.script = [500, 503]
    job, _ = await store.jobs.enqueue(new_job(tenant.org_id))

    await run_dispatcher()
    arrived = await receiver.wait_for(3)
    await receiver.wait_answered(1)

    assert len({r.webhook_id for r in arrived}) == 1 and arrived[0].webhook_id.startswith("msg_")
    receiver.assert_verified()
    payload = arrived[-1].payload
    assert payload["type"] == "job.created" and payload["data"]["job_id"] == job.id
    assert payload["data"]["sequence"] == 1 and payload["data"]["metadata"] == {"user_id": "u1"}
    message = await _settled(store, tenant.org_id, arrived[0].webhook_id)
    [delivery] = message.deliveries
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert [a.status_code for a in delivery.attempt_log] == [500, 503, 200]
    assert all(a.latency_ms is not None for a in delivery.attempt_log)
    await _barrier(store, tenant.org_id, receiver)
    assert [r.webhook_id for r in receiver.received[:3]] == [arrived[0].webhook_id] * 3
    assert len(receiver.received) == 4  # nothing after the success, before the barrier


async def test_a_jobs_events_arrive_in_order_under_retries(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    seen: set[str] = set()

    async def first_try_of_each_event_fails(received: Received) -> web.Response:
        # Each event fails once, so without ordering a later one would overtake it.
        if received.webhook_id not in seen:
            seen.add(received.webhook_id)
            return web.Response(status=500)
        return web.Response(status=200)

    receiver.behaviour = first_try_of_each_event_fails
    jobs = []
    for _ in range(3):
        job, _ = await store.jobs.enqueue(new_job(tenant.org_id))
        jobs.append(job)
    await run_dispatcher()
    for lease in await store.leases.claim("w", 3, 30):
        await store.leases.finish(lease, JobStatus.COMPLETED, result={}, page_count=1)

    await receiver.wait_answered(9)
    receiver.assert_verified()
    for job in jobs:
        delivered = [
            r.payload["data"]["sequence"]
            for r, status in receiver.answered
            if status == 200 and r.payload["data"]["job_id"] == job.id
        ]
        tried = [
            r.payload["data"]["sequence"]
            for r in receiver.received
            if r.payload["data"]["job_id"] == job.id
        ]
        assert delivered == [1, 2, 3]
        assert tried == [1, 1, 2, 2, 3, 3]  # a later event is never tried before an earlier lands


async def test_the_healthy_endpoint_sees_no_added_delay_from_a_dead_and_a_slow_one(
    store: Any, tenant: Any, receivers: Any, run_dispatcher: Any
) -> None:
    healthy, slow = await receivers(), await receivers()
    held = asyncio.Event()

    async def never_answers_in_time(_: Received) -> web.Response:
        await held.wait()
        return web.Response(status=200)

    slow.behaviour = never_answers_in_time
    dead_port = _free_port()  # nothing listens: connection refused
    await store.webhooks.create_endpoint(tenant.org_id, f"http://127.0.0.1:{dead_port}/hook")
    await store.webhooks.create_endpoint(tenant.org_id, slow.url)
    good = await store.webhooks.create_endpoint(tenant.org_id, healthy.url)
    healthy.secret = good.secret
    # The slow endpoint's requests are held for the whole test (its timeout is far
    # longer than the test), so its two slots never free up: had the healthy endpoint
    # waited behind them, none of its events could arrive before ``held`` is set.
    await run_dispatcher(
        webhook_concurrency=8,
        webhook_per_endpoint_concurrency=2,
        webhook_timeout_seconds=600.0,
        webhook_lease_seconds=1200.0,
        webhook_retry_schedule="0,0.05,0.05,0.05,0.05",
    )
    try:
        events = [(await emit(store, tenant.org_id))[0] for _ in range(30)]
        arrived = await healthy.wait_for(30, timeout=30)
        assert not held.is_set() and len(slow.answered) == 0  # still held meanwhile
    finally:
        held.set()
    assert sorted(r.webhook_id for r in arrived) == sorted(events)
    healthy.assert_verified()
    assert len(slow.received) == 2  # its own two slots, never more


async def test_a_delivery_whose_lease_cannot_cover_its_request_is_handed_back_not_sent_twice(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret

    async def slow(_: Received) -> web.Response:
        await asyncio.sleep(0.8)
        return web.Response(status=200)

    receiver.behaviour = slow
    events = [(await emit(store, tenant.org_id))[0] for _ in range(5)]
    # One request at a time to this endpoint, and several of its deliveries held
    # behind it: the last ones wait longer than their 3 s lease leaves for a 1 s
    # request. Sent anyway, they would end after the lease, and be claimed and sent
    # again meanwhile.
    await run_dispatcher(
        webhook_per_endpoint_concurrency=1,
        webhook_timeout_seconds=1.0,
        webhook_lease_seconds=3.0,
    )
    await receiver.wait_answered(5, timeout=20)
    # A duplicate would have been claimed before the barrier event, and this
    # endpoint takes one request at a time: it would arrive before the barrier.
    barrier = await _barrier(store, tenant.org_id, receiver, timeout=20)

    assert sorted(r.webhook_id for r in receiver.received) == sorted([*events, barrier])
    receiver.assert_verified()
    for event_id in events:
        message = await _settled(store, tenant.org_id, event_id)
        [delivery] = message.deliveries
        # handed back unsent, the attempt was not counted
        assert delivery.status == "succeeded" and delivery.attempts == 1


async def test_a_database_outage_backs_off_for_the_poll_not_each_wake_up_and_loses_nothing(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    from pagewire.errors import StoreUnavailable

    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    claim = store.deliveries.claim_deliveries
    failed_claims = 0

    async def down(*args: Any, **kwargs: Any) -> Any:
        nonlocal failed_claims
        failed_claims += 1
        raise StoreUnavailable("the database is unavailable: connection refused")

    store.deliveries.claim_deliveries = down
    # A poll longer than the test: only a claim made on a wake-up could follow the first.
    first = await run_dispatcher(poll_seconds=600.0)
    await until("the first claim met the outage", lambda: failed_claims)
    wake_ups = 0

    def count_wake_up() -> None:
        nonlocal wake_ups
        wake_ups += 1

    # Called after the dispatcher's own wake-up handler, for the same wake-ups.
    store.db.on_wake("pagewire_deliveries", count_wake_up)
    events = [(await emit(store, tenant.org_id))[0] for _ in range(6)]
    await until("six commits woke the dispatcher", lambda: wake_ups >= 6)
    for _ in range(20):  # loop turns: room for any claim those wake-ups started
        await asyncio.sleep(0)
    await store.db.ping()
    assert failed_claims == 1  # backing off: six wake-ups claimed nothing

    # The database is back: the outage lost nothing (a new dispatcher, as the first
    # waits out its poll).
    store.deliveries.claim_deliveries = claim
    first.stop()
    await run_dispatcher()
    arrived = await receiver.wait_for(6, timeout=10)
    assert sorted(r.webhook_id for r in arrived) == sorted(events)
    receiver.assert_verified()


async def test_an_idle_dispatcher_wakes_at_once_for_a_new_event_and_for_a_due_retry(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    receiver.script = [503]
    # Polling alone would find the event after 30 s: the commit's wake-up, and the
    # timer of the retry it scheduled, must wake the claim loop well before.
    claim = store.deliveries.claim_deliveries
    found_nothing = asyncio.Event()

    async def noting_an_empty_claim(*args: Any, **kwargs: Any) -> Any:
        claimed = await claim(*args, **kwargs)
        if not claimed:
            found_nothing.set()
        return claimed

    store.deliveries.claim_deliveries = noting_an_empty_claim
    await run_dispatcher(poll_seconds=30.0, webhook_retry_schedule="0,0.3")
    await asyncio.wait_for(found_nothing.wait(), 10)  # nothing to do: it goes to sleep
    await emit(store, tenant.org_id)

    # Both within the test's bound, far shorter than the 30 s poll: woken, not polled.
    [failed, delivered] = await receiver.wait_for(2, timeout=10)
    assert failed.webhook_id == delivered.webhook_id
    receiver.assert_verified()


@pytest.fixture
async def clocked_store(settings: Any) -> AsyncIterator[tuple[Any, list[float]]]:
    """A store whose clock the test moves (list it before ``run_dispatcher``)."""
    now = [time.time()]
    store = Store.from_settings(settings, clock=lambda: now[0])
    yield store, now
    await store.close()


async def test_old_and_new_secrets_both_verify_during_rotation_and_only_the_new_after(
    clocked_store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    store, now = clocked_store
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    rotated = await store.webhooks.rotate_secret(tenant.org_id, endpoint.id, grace_seconds=3600)
    await run_dispatcher(on_store=store, webhook_lease_seconds=1e6)
    await emit(store, tenant.org_id)
    [during] = await receiver.wait_for(1)
    assert verifies(during, endpoint.secret) and verifies(during, rotated.secret)
    assert len(during.headers["webhook-signature"].split()) == 2

    now[0] += 3601
    await emit(store, tenant.org_id)
    [_, after] = await receiver.wait_for(2)
    assert verifies(after, rotated.secret) and not verifies(after, endpoint.secret)
    assert len(after.headers["webhook-signature"].split()) == 1


async def test_an_endpoint_gets_only_the_event_types_it_asked_for(
    store: Any, tenant: Any, receivers: Any, run_dispatcher: Any
) -> None:
    everything, completed_only = await receivers(), await receivers()
    all_types = await store.webhooks.create_endpoint(tenant.org_id, everything.url)
    filtered = await store.webhooks.create_endpoint(
        tenant.org_id, completed_only.url, event_types=["job.completed"]
    )
    await store.jobs.enqueue(new_job(tenant.org_id))
    [lease] = await store.leases.claim("w", 1, 30)
    await store.leases.finish(lease, JobStatus.COMPLETED, result={}, page_count=1)
    await run_dispatcher()

    await everything.wait_for(3)
    [only] = await completed_only.wait_for(1)
    assert only.payload["type"] == "job.completed"
    for message in (await store.webhooks.list_messages(tenant.org_id)).data:
        settled = await _settled(store, tenant.org_id, message.id)
        wanted = {all_types.id} | ({filtered.id} if message.type == "job.completed" else set())
        assert {d.endpoint_id for d in settled.deliveries} == wanted, message.type
    assert len(completed_only.received) == 1
    assert [r.payload["type"] for r in everything.received] == [
        "job.created",
        "job.processing",
        "job.completed",
    ]
    everything.assert_verified(all_types.secret)
    completed_only.assert_verified(filtered.secret)


async def test_custom_headers_are_sent_but_cannot_replace_the_signature(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(
        tenant.org_id, receiver.url, headers={"X-Team": "docs", "Authorization": "Bearer t0k"}
    )
    receiver.secret = endpoint.secret
    await emit(store, tenant.org_id)
    await run_dispatcher()

    [received] = await receiver.wait_for(1)
    assert received.headers["x-team"] == "docs"
    assert received.headers["authorization"] == "Bearer t0k"
    assert received.headers["content-type"] == "application/json"
    receiver.assert_verified()


async def test_410_disables_the_endpoint_and_the_others_hear_about_it(
    store: Any, tenant: Any, receivers: Any, run_dispatcher: Any
) -> None:
    gone, watcher = await receivers(), await receivers()
    gone.script = [410]
    doomed = await store.webhooks.create_endpoint(tenant.org_id, gone.url)
    watching = await store.webhooks.create_endpoint(
        tenant.org_id, watcher.url, event_types=["endpoint.disabled"]
    )
    await emit(store, tenant.org_id)
    await run_dispatcher()

    [notice] = await watcher.wait_for(1)
    assert notice.payload["type"] == "endpoint.disabled"
    assert notice.payload["data"]["endpoint_id"] == doomed.id
    watcher.assert_verified(watching.secret)
    gone.assert_verified(doomed.secret)
    endpoint = await store.webhooks.get_endpoint(tenant.org_id, doomed.id)
    assert not endpoint.enabled and "410" in (endpoint.disabled_reason or "")
    later, _ = await emit(store, tenant.org_id)
    message = await store.webhooks.get_message(tenant.org_id, later)
    assert doomed.id not in {d.endpoint_id for d in message.deliveries}
    assert len(gone.received) == 1


async def test_a_redirect_is_a_failure_and_is_never_followed(
    store: Any, tenant: Any, receivers: Any, run_dispatcher: Any
) -> None:
    redirecting, target = await receivers(), await receivers()

    async def moved(_: Received) -> web.Response:
        return web.Response(status=307, headers={"Location": target.url})

    redirecting.behaviour = moved
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, redirecting.url)
    event_id, _ = await emit(store, tenant.org_id)
    await run_dispatcher(webhook_retry_schedule="0")

    message = await _settled(store, tenant.org_id, event_id)
    [delivery] = message.deliveries
    assert delivery.status == "failed" and delivery.last_status_code == 307
    assert target.received == []
    redirecting.assert_verified(endpoint.secret)


async def test_retry_after_is_honoured_up_to_its_bound(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    async def busy_then_fine(received: Received) -> web.Response:
        if len(receiver.received) == 1:
            return web.Response(status=429, headers={"Retry-After": "3600"})
        return web.Response(status=200)

    receiver.behaviour = busy_then_fine
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    event_id, _ = await emit(store, tenant.org_id)
    await run_dispatcher(webhook_max_retry_after_seconds=600)

    await receiver.wait_answered(1, status=429)
    delivery = await _scheduled_retry(store, tenant.org_id, event_id)
    [attempt] = delivery.attempt_log
    # The retry is planned at the bound (600 s), neither at the hour the receiver
    # asked for nor at the retry schedule's 0.05 s.
    planned = delivery.next_attempt_at - attempt.created_at
    assert 590 <= planned <= 610, planned
    assert len(receiver.received) == 1
    receiver.assert_verified(endpoint.secret)


async def test_every_attempt_goes_through_the_ssrf_guard(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    # Created while private URLs were allowed; the dispatcher no longer allows them.
    await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    event_id, _ = await emit(store, tenant.org_id)
    await run_dispatcher(allow_private_urls=False, webhook_retry_schedule="0")

    message = await _settled(store, tenant.org_id, event_id)
    [attempt] = message.deliveries[0].attempt_log
    assert "SSRF" in (attempt.error or "") and receiver.received == []


async def test_deliveries_and_latency_are_counted_in_the_metrics(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    registry = CollectorRegistry()
    receiver.script = [500]
    await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    event_id, _ = await emit(store, tenant.org_id)
    await run_dispatcher(registry=registry)
    await receiver.wait_answered(1)
    await _settled(store, tenant.org_id, event_id)

    def value(name: str, **labels: str) -> float:
        return registry.get_sample_value(name, labels) or 0.0

    assert value("pagewire_webhook_attempts_total", outcome="succeeded") == 1
    assert value("pagewire_webhook_attempts_total", outcome="retry") == 1
    assert value("pagewire_webhook_attempt_seconds_count") == 2
    assert registry.get_sample_value("pagewire_webhook_due_deliveries") is not None
    assert (
        registry.get_sample_value("pagewire_webhook_oldest_pending_delivery_age_seconds")
        is not None
    )


async def _settled(store: Any, org_id: str, event_id: str, timeout: float = 5.0) -> Any:
    """The message once none of its deliveries is pending."""
    deadline = time.monotonic() + timeout
    while True:
        message = await store.webhooks.get_message(org_id, event_id)
        if message.deliveries and all(d.status != "pending" for d in message.deliveries):
            return message
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.02)


async def _barrier(store: Any, org_id: str, receiver: Receiver, timeout: float = 10.0) -> str:
    """Send one more event and wait for it: what was sent before it has arrived by then."""
    event_id, _ = await emit(store, org_id)
    while not any(r.webhook_id == event_id for r in receiver.received):
        await receiver.wait_for(len(receiver.received) + 1, timeout=timeout)
    await _settled(store, org_id, event_id, timeout)
    return event_id


async def _scheduled_retry(store: Any, org_id: str, event_id: str, timeout: float = 5.0) -> Any:
    """The delivery once its failed attempt is recorded and its retry planned."""
    deadline = time.monotonic() + timeout
    while True:
        message = await store.webhooks.get_message(org_id, event_id)
        [delivery] = message.deliveries
        # The retry is planned once the delivery's next attempt is after its last one:
        # the message and its attempts are read by two statements, so a read between
        # the attempt's commit and the plan's may show the attempt beside the old plan.
        if (
            delivery.attempt_log
            and delivery.next_attempt_at is not None
            and delivery.next_attempt_at > delivery.attempt_log[-1].created_at
        ):
            return delivery
        assert time.monotonic() < deadline, message
        await asyncio.sleep(0.02)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_fault_recording_an_attempt_costs_no_sender_and_loses_nothing(
    store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url)
    receiver.secret = endpoint.secret
    # One sender: had the fault ended it, nothing more would ever be sent.
    dispatcher = await run_dispatcher(
        webhook_concurrency=1, webhook_timeout_seconds=1.0, webhook_lease_seconds=1.5
    )
    decide = dispatcher.policy.decide
    faults = [RuntimeError("a bug in the bookkeeping")]

    def faulty_decide(*args: Any) -> Any:
        if faults:
            raise faults.pop()
        return decide(*args)

    dispatcher.policy = type("Faulty", (), {"decide": staticmethod(faulty_decide)})()
    first, _ = await emit(store, tenant.org_id, type_="job.created")
    second, _ = await emit(store, tenant.org_id, type_="job.completed")

    arrived = await receiver.wait_for(3, timeout=15)

    ids = [r.webhook_id for r in arrived]
    assert ids.count(first) == 2 and ids.count(second) == 1  # sent again once its lease ran out
    receiver.assert_verified()
    for message_id in (first, second):
        message = await _settled(store, tenant.org_id, message_id)
        assert [d.status for d in message.deliveries] == ["succeeded"]


async def test_a_rate_limited_endpoint_is_paced_without_holding_back_the_others(
    clocked_store: Any, tenant: Any, receivers: Any, run_dispatcher: Any
) -> None:
    store, now = clocked_store  # the database's clock, which the buckets refill by
    limited, free = await receivers(), await receivers()
    paced = await store.webhooks.create_endpoint(tenant.org_id, limited.url, rate_limit=2)
    other = await store.webhooks.create_endpoint(tenant.org_id, free.url)
    limited.secret, free.secret = paced.secret, other.secret
    claim = store.deliveries.claim_deliveries
    claims = 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await claim(*args, **kwargs)

    store.deliveries.claim_deliveries = counted

    async def claims_pass(count: int) -> None:
        """Until ``count`` more claims were made: chances to send more than the bucket holds."""
        target = claims + count
        await until(f"{count} more claims", lambda: claims >= target)

    # Two senders, and the limited endpoint may have both: were a sender to wait for
    # a token, the other endpoint's events would queue behind the limited one's. A
    # short poll: the dispatcher claims again and again while the clock stands still.
    await run_dispatcher(
        on_store=store,
        webhook_concurrency=2,
        webhook_per_endpoint_concurrency=2,
        poll_seconds=0.05,
    )
    for _ in range(6):
        await emit(store, tenant.org_id)

    # A full bucket is one second's worth: a burst of 2, and no more while no time passes.
    # Meanwhile the other endpoint gets all six: nothing waits behind the limited one.
    await free.wait_for(6, timeout=10)
    await limited.wait_for(2, timeout=10)
    await claims_pass(5)
    assert len(limited.received) == 2
    # Half a second: one token (2 a second), one delivery.
    now[0] += 0.5
    await limited.wait_for(3, timeout=10)
    await claims_pass(5)
    assert len(limited.received) == 3
    # Ten seconds: the bucket holds at most one second's worth (2), never ten seconds' (20).
    now[0] += 10
    await limited.wait_for(5, timeout=10)
    await claims_pass(5)
    assert len(limited.received) == 5
    now[0] += 0.5
    paced_arrivals = await limited.wait_for(6, timeout=10)

    limited.assert_verified()
    free.assert_verified()
    assert len({r.webhook_id for r in paced_arrivals}) == 6  # each once


async def test_a_rate_limit_holds_across_dispatchers(
    clocked_store: Any, tenant: Any, receiver: Receiver, run_dispatcher: Any
) -> None:
    """Two dispatchers (two processes' worth) share one endpoint's bucket: the
    endpoint gets its limit in all, not its limit from each."""
    store, now = clocked_store  # the database's clock, which the bucket refills by
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, receiver.url, rate_limit=3)
    receiver.secret = endpoint.secret
    for _ in range(9):
        await emit(store, tenant.org_id)
    claim = store.deliveries.claim_deliveries
    claims = 0

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal claims
        claims += 1
        return await claim(*args, **kwargs)

    store.deliveries.claim_deliveries = counted
    await run_dispatcher(on_store=store, poll_seconds=0.05)
    await run_dispatcher(on_store=store, poll_seconds=0.05)

    # A full bucket (3), then 3 a second. Each dispatcher keeping its own bucket would
    # send 6 while no time passes.
    for sent in (3, 6, 9):
        await receiver.wait_for(sent, timeout=10)
        target = claims + 6  # both dispatchers claim again, several times
        await until("more claims", lambda: claims >= target)  # noqa: B023 (awaited here)
        assert len(receiver.received) == sent
        now[0] += 1.0

    receiver.assert_verified()
    assert len({r.webhook_id for r in receiver.received}) == 9  # each once
