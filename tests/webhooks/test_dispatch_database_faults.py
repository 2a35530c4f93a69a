"""Every attempt the dispatcher sends is logged, whatever the database does (defect 11).

The sender is scripted (tests/fakes) and counts what it sends; the store is
wrapped so that recording attempts, or handing deliveries back, fails as a
dropped connection makes it fail. For every delivery, the attempts logged must
equal the attempts sent, and the delivery's attempt count must agree with both.
Each runs on both backends: the recording and its lease guard are SQL. The
last does it for real: PostgreSQL's connections are killed again and again while
events are emitted and sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import Counter
from typing import Any

import pytest
import sqlalchemy as sa

from fakes import Answer, FakeSender, FaultyStore, kill_connections
from pagewire.errors import StoreUnavailable
from pagewire.store import tables as t
from webhooks.support import emit, until

D = t.deliveries.c
A = t.attempts.c

ON_POSTGRES = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def ledger(store: Any) -> dict[str, tuple[str, int, int]]:
    """Per delivery: its status, its attempt count, and the attempts logged for it."""
    async with store.db.read() as conn:
        rows = await conn.execute(
            sa.select(D.id, D.status, D.attempts, sa.func.count(A.id))
            .select_from(t.deliveries.outerjoin(t.attempts, A.delivery_id == D.id))
            .group_by(D.id, D.status, D.attempts)
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def settled(store: Any, count: int, timeout: float = 20.0) -> dict[str, tuple[str, int, int]]:
    """The ledger once ``count`` deliveries are final and every attempt is logged."""
    deadline = time.monotonic() + timeout
    while True:
        found = await ledger(store)
        final = [v for v in found.values() if v[0] != "pending"]
        if len(final) == count and all(attempts == logged for _, attempts, logged in final):
            return found
        assert time.monotonic() < deadline, f"never settled: {found}"
        await asyncio.sleep(0.05)


async def one_endpoint(
    store: Any, tenant: Any, events: int, failing: str, times: float = math.inf
) -> tuple[Any, FakeSender, FaultyStore]:
    """An endpoint with ``events`` due to it, a sender for it, and the store whose
    ``failing`` operation fails (its next ``times`` calls)."""
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://one.example/hook")
    for _ in range(events):
        await emit(store, tenant.org_id)
    faulty = FaultyStore(store)
    faulty.fail(failing, times)
    return endpoint, FakeSender(), faulty


async def beside_a_fine_one(store: Any, tenant: Any, events: int, *answers: Answer) -> FakeSender:
    """Two endpoints with ``events`` due to each; a sender whose first ``answers`` are
    the first endpoint's (then 200, as for the other)."""
    odd = await store.webhooks.create_endpoint(tenant.org_id, "https://odd.example/hook")
    await store.webhooks.create_endpoint(tenant.org_id, "https://fine.example/hook")
    sender = FakeSender()
    sender.script(odd.url, *answers)
    for _ in range(events):
        await emit(store, tenant.org_id)
    return sender


def sends(*senders: FakeSender) -> Counter[str]:
    """Attempts sent, per delivery."""
    return Counter(d.id for sender in senders for d in sender.sent)


def logged(found: dict[str, tuple[str, int, int]]) -> Counter[str]:
    return Counter({delivery_id: n for delivery_id, (_, _, n) in found.items() if n})


async def test_attempts_the_database_fails_to_record_are_kept_and_logged_once_each(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    # Retried ones are recorded outside the hot path, the others on it.
    sender = await beside_a_fine_one(store, tenant, 10, *[Answer(503)] * 5)
    faulty = FaultyStore(store)
    faulty.fail("deliveries.record_attempts", times=4)
    await run_dispatcher(on_store=faulty, sender=sender)

    found = await settled(store, 20)

    assert faulty.failures["deliveries.record_attempts"] == 4
    assert {status for status, _, _ in found.values()} == {"succeeded"}
    assert logged(found) == sends(sender) and sum(sends(sender).values()) == 25


async def test_a_write_whose_commit_answer_was_lost_logs_each_attempt_once(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    # The batch is committed, then the connection drops before the answer: the
    # recorder writes the same batch again, and the log must not gain a second row.
    sender = await beside_a_fine_one(store, tenant, 10, *[Answer(503)] * 5)
    faulty = FaultyStore(store)
    faulty.fail("deliveries.record_attempts", times=4, after_commit=True)
    await run_dispatcher(on_store=faulty, sender=sender)

    found = await settled(store, 20)

    assert faulty.failures["deliveries.record_attempts"] == 4
    assert {status for status, _, _ in found.values()} == {"succeeded"}
    assert logged(found) == sends(sender) and sum(sends(sender).values()) == 25


async def test_attempts_still_unrecorded_when_the_dispatcher_stops_are_logged_before_it_ends(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    _, sender, faulty = await one_endpoint(store, tenant, 3, "deliveries.record_attempts")
    dispatcher = await run_dispatcher(on_store=faulty, sender=sender, drain_seconds=5.0)
    await until("all three are sent", lambda: len(sender.sent) == 3)
    await until("recording fails", lambda: faulty.failures["deliveries.record_attempts"])

    dispatcher.stop()
    failed = faulty.failures["deliveries.record_attempts"]
    await until(
        "recording fails after the stop",
        lambda: faulty.failures["deliveries.record_attempts"] > failed,
    )
    faulty.heal()  # the database is back while the dispatcher stops
    found = await settled(store, 3)

    assert logged(found) == sends(sender) == Counter({d: 1 for d in found})


async def test_a_hand_back_the_database_fails_is_kept_and_its_attempt_never_counted(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    endpoint, sender, faulty = await one_endpoint(store, tenant, 3, "deliveries.release", 3)
    held = asyncio.Event()
    sender.script(endpoint.url, Answer(until=held))
    # The clock the lanes judge a held delivery by: moved on, the two waiting behind
    # the slow first request are past what their lease can cover, and handed back.
    ahead = [0.0]
    await run_dispatcher(
        on_store=faulty,
        sender=sender,
        clock=lambda: time.monotonic() + ahead[0],
        webhook_per_endpoint_concurrency=1,
    )
    await until("the first is sent", lambda: len(sender.sent) == 1)
    ahead[0] = 3600.0
    held.set()
    await until("the others are handed back", lambda: faulty.calls["deliveries.release"])
    ahead[0] = 0.0

    found = await settled(store, 3)

    assert faulty.failures["deliveries.release"] == 3
    assert logged(found) == sends(sender) == Counter({d: 1 for d in found})
    assert {attempts for _, attempts, _ in found.values()} == {1}


async def test_claims_pause_while_attempts_cannot_be_recorded_and_resume_after(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    _, sender, faulty = await one_endpoint(store, tenant, 60, "deliveries.record_attempts")
    dispatcher = await run_dispatcher(on_store=faulty, sender=sender, webhook_concurrency=2)
    await until("claims pause", lambda: dispatcher.claims.paused)
    claimed = faulty.calls["deliveries.claim_deliveries"]
    passes = 0
    room = dispatcher.claims.room

    def counted_room() -> bool:  # asked once per pass of the claim loop
        nonlocal passes
        passes += 1
        return room()

    dispatcher.claims.room = counted_room
    await until("three passes of the claim loop", lambda: passes >= 3)  # none of them claims

    unrecorded = len(sender.sent)
    assert faulty.calls["deliveries.claim_deliveries"] == claimed
    # What it held when it paused, at most: memory stays bounded however long it lasts.
    assert unrecorded <= 2 * dispatcher.claims.hold_limit < 60

    faulty.heal()
    found = await settled(store, 60)
    assert not dispatcher.claims.paused
    assert logged(found) == sends(sender) == Counter({d: 1 for d in found})


async def test_a_response_the_database_cannot_store_is_logged_without_what_it_refuses(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    # PostgreSQL's text refuses NUL: the whole batch with it was refused, then dropped.
    sender = await beside_a_fine_one(store, tenant, 3, Answer(200, body="ok\x00then more"))
    await run_dispatcher(sender=sender)

    found = await settled(store, 6)

    assert logged(found) == sends(sender) == Counter({d: 1 for d in found})
    async with store.db.read() as conn:
        bodies = set((await conn.execute(sa.select(A.response_body))).scalars())
    assert bodies <= {"ok", "ok\x00then more", "ok\ufffdthen more"}


async def test_a_late_record_after_the_delivery_was_sent_again_logs_without_undoing_it(
    store: Any, tenant: Any, run_dispatcher: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://slow.example/hook")
    first_sender, second_sender = FakeSender(Answer(503)), FakeSender()
    faulty = FaultyStore(store)
    faulty.fail("deliveries.record_attempts")
    await emit(store, tenant.org_id)
    leases = {"webhook_lease_seconds": 0.6, "webhook_timeout_seconds": 0.2}
    await run_dispatcher(on_store=faulty, sender=first_sender, **leases)
    await until("the first dispatcher sends", lambda: first_sender.sent)
    faulty.fail("deliveries.claim_deliveries")  # and claims no more

    # Its lease runs out; another dispatcher sends the delivery again, and records it.
    await run_dispatcher(sender=second_sender, **leases)
    await until("the second dispatcher sends", lambda: second_sender.sent)
    await until("it is recorded", lambda: _final(store))
    faulty.heal("deliveries.record_attempts")  # the first one's 503 is recorded late
    await until("the late record lands", lambda: faulty.calls["deliveries.record_attempts"] > 1)
    found = await settled(store, 1)

    [(status, attempts, count)] = found.values()
    assert status == "succeeded"  # the late 503 did not reopen it
    assert attempts == count == 2
    assert logged(found) == sends(first_sender, second_sender)
    assert len(first_sender.sent) == len(second_sender.sent) == 1


async def _final(store: Any) -> bool:
    return any(status != "pending" for status, _, _ in (await ledger(store)).values())


@ON_POSTGRES
async def test_killed_connections_lose_no_attempt_from_the_log(
    store: Any, tenant: Any, run_dispatcher: Any, backend: Any
) -> None:
    flaky = await store.webhooks.create_endpoint(tenant.org_id, "https://flaky.example/hook")
    for name in ("one", "two"):
        await store.webhooks.create_endpoint(tenant.org_id, f"https://{name}.example/hook")
    sender = FakeSender()
    sender.script(flaky.url, *[Answer(503), Answer(200)] * 100)
    await run_dispatcher(sender=sender)
    emitted = 0

    async def keep_emitting(seconds: float) -> None:
        nonlocal emitted
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(StoreUnavailable):  # killed: not committed, try again
                await emit(store, tenant.org_id)
                emitted += 1
            await asyncio.sleep(0.01)

    _, killed = await asyncio.gather(
        keep_emitting(3.0), kill_connections(backend.url, every=0.2, duration=3.0)
    )
    found = await settled(store, 3 * emitted, timeout=60)

    assert killed > 0 and emitted > 0
    assert logged(found) == sends(sender)
