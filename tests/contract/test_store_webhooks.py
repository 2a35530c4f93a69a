"""The webhook store's contract (endpoints, messages, claims, attempts), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from pagewire.errors import InvalidRequest, NotFound
from pagewire.models import AttemptRecord, ClaimedDelivery, NewEvent
from pagewire.security.encryption import SecretBox
from pagewire.store import Store, outbox
from pagewire.store import tables as t
from pagewire.store.db import Database

LEASE = 30.0


async def emit(
    store: Any,
    org_id: str,
    job_id: str | None = None,
    sequence: int = 0,
    type_: str = "job.completed",
) -> str:
    async with store.db.write() as conn:
        [event_id] = await outbox.append(
            store.db,
            conn,
            [
                NewEvent(
                    org_id=org_id,
                    type=type_,
                    payload={"type": type_, "data": {"job_id": job_id, "sequence": sequence}},
                    job_id=job_id,
                    sequence=sequence,
                )
            ],
            now=await store.db.current_time(),
        )
    return event_id


async def claim(
    store: Any, limit: int = 100, per_endpoint: int = 100, **kwargs: Any
) -> list[ClaimedDelivery]:
    return await store.deliveries.claim_deliveries(
        limit, lease_seconds=kwargs.pop("lease_seconds", LEASE), per_endpoint=per_endpoint, **kwargs
    )


def record(c: ClaimedDelivery, verdict: str, **kwargs: Any) -> AttemptRecord:
    return AttemptRecord(delivery=c, verdict=verdict, **kwargs)  # type: ignore[arg-type]


async def delivery_status(store: Any, event_id: str) -> list[str]:
    async with store.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(t.deliveries.c.status).where(t.deliveries.c.event_id == event_id)
            )
        ).all()
    return [r.status for r in rows]


async def test_endpoints_are_created_listed_updated_and_deleted_within_their_organization(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    first = await store.webhooks.create_endpoint(
        tenant.org_id,
        "https://example.com/a",
        event_types=["job.completed"],
        headers={"x-team": "docs"},
    )
    second = await store.webhooks.create_endpoint(
        tenant.org_id, "https://example.com/b", rate_limit=5
    )

    assert first.secret.startswith("whsec_") and first.secret != second.secret
    assert first.event_types == ("job.completed",) and first.headers == {"x-team": "docs"}
    page = await store.webhooks.list_endpoints(tenant.org_id, limit=1)
    rest = await store.webhooks.list_endpoints(tenant.org_id, limit=1, cursor=page.next_cursor)
    assert [e.id for e in page.data + rest.data] == [
        second.id,
        first.id,
    ] and rest.next_cursor is None

    changed = await store.webhooks.update_endpoint(
        tenant.org_id, first.id, url="https://example.com/c", event_types=None
    )
    assert changed.url == "https://example.com/c" and changed.event_types is None

    for call in (
        store.webhooks.get_endpoint(other_tenant.org_id, first.id),
        store.webhooks.update_endpoint(other_tenant.org_id, first.id, url="https://evil.example"),
        store.webhooks.delete_endpoint(other_tenant.org_id, first.id),
        store.webhooks.rotate_secret(other_tenant.org_id, first.id, grace_seconds=1),
    ):
        with pytest.raises(NotFound):
            await call
    assert (await store.webhooks.list_endpoints(other_tenant.org_id)).data == []

    await store.webhooks.delete_endpoint(tenant.org_id, first.id)
    with pytest.raises(NotFound):
        await store.webhooks.get_endpoint(tenant.org_id, first.id)


async def test_a_rotated_secret_signs_alongside_the_new_one_until_its_grace_ends(
    settings: Any, tenant: Any
) -> None:
    now = [1_800_000_000.0]
    store = Store.from_settings(settings, clock=lambda: now[0])
    try:
        endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
        rotated = await store.webhooks.rotate_secret(tenant.org_id, endpoint.id, grace_seconds=3600)
        assert rotated.previous_secret == endpoint.secret and rotated.secret != endpoint.secret

        await emit(store, tenant.org_id)
        [during] = await claim(store)
        assert during.secrets == (rotated.secret, endpoint.secret)
        await store.deliveries.record_attempts([record(during, "succeeded", status_code=200)])

        now[0] += 3601
        await emit(store, tenant.org_id)
        [after] = await claim(store)
        assert after.secrets == (rotated.secret,)
    finally:
        await store.close()


async def test_a_claimed_delivery_is_leased_and_due_again_when_its_lease_runs_out(
    store: Any, tenant: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    event_id = await emit(store, tenant.org_id)

    [lost] = await claim(store, lease_seconds=-1)  # its dispatcher died at once
    [again] = await claim(store)

    assert lost.event_id == again.event_id == event_id
    assert (lost.attempt, again.attempt) == (1, 2) and lost.lease_token != again.lease_token
    assert await claim(store) == []
    # the lost dispatcher's late answer is logged but cannot finish the delivery
    await store.deliveries.record_attempts([record(lost, "succeeded", status_code=200)])
    assert await delivery_status(store, event_id) == ["pending"]
    await store.deliveries.record_attempts([record(again, "succeeded", status_code=200)])
    assert await delivery_status(store, event_id) == ["succeeded"]
    message = await store.webhooks.get_message(tenant.org_id, event_id)
    assert len(message.deliveries[0].attempt_log) == 2


async def test_a_batch_recorded_again_logs_each_attempt_once_and_changes_nothing_more(
    store: Any, tenant: Any
) -> None:
    # What the recorder does when a commit's answer was lost: the same records again.
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    retried_event = await emit(store, tenant.org_id)
    done_event = await emit(store, tenant.org_id)
    claimed = {c.event_id: c for c in await claim(store)}
    batch = [
        record(claimed[retried_event], "retry", status_code=503, retry_in=3600),
        record(claimed[done_event], "succeeded", status_code=200),
    ]

    for _ in range(2):
        await store.deliveries.record_attempts(batch)
        await store.deliveries.record_attempts(batch[1:])  # alone: PostgreSQL's one statement

    assert await delivery_status(store, retried_event) == ["pending"]
    assert await delivery_status(store, done_event) == ["succeeded"]
    for event_id in (retried_event, done_event):
        message = await store.webhooks.get_message(tenant.org_id, event_id)
        [delivery] = message.deliveries
        assert delivery.attempts == len(delivery.attempt_log) == 1


async def test_concurrent_claimers_never_hold_the_same_delivery(store: Any, tenant: Any) -> None:
    for _ in range(3):
        await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    for _ in range(20):
        await emit(store, tenant.org_id)

    async def claimer() -> list[str]:
        got: list[str] = []
        while batch := await claim(store, limit=4):
            got.extend(c.id for c in batch)
        return got

    claimed = await asyncio.gather(*(claimer() for _ in range(4)))
    every = [d for part in claimed for d in part]
    assert len(every) == 60 and len(set(every)) == 60


async def test_a_jobs_later_event_waits_for_its_earlier_one_to_the_same_endpoint(
    store: Any, tenant: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    created = await emit(store, tenant.org_id, "job_1", 1, "job.created")
    completed = await emit(store, tenant.org_id, "job_1", 2, "job.completed")
    other_job = await emit(store, tenant.org_id, "job_2", 1, "job.created")

    first = await claim(store)
    assert {c.event_id for c in first} == {created, other_job}
    [c1] = [c for c in first if c.event_id == created]
    await store.deliveries.record_attempts([record(c1, "retry", status_code=500, retry_in=0)])
    # retrying: still holds the later event back
    [retried] = [c for c in await claim(store) if c.endpoint_id == endpoint.id]
    assert retried.event_id == created
    await store.deliveries.record_attempts([record(retried, "succeeded", status_code=200)])
    [next_one] = await claim(store)
    assert next_one.event_id == completed


async def test_a_delivery_that_failed_for_good_releases_the_jobs_later_events(
    store: Any, tenant: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    await emit(store, tenant.org_id, "job_1", 1, "job.created")
    later = await emit(store, tenant.org_id, "job_1", 2, "job.completed")
    [first] = await claim(store)
    await store.deliveries.record_attempts(
        [record(first, "failed", status_code=500, reason="gave up")]
    )
    [released] = await claim(store)
    assert released.event_id == later


async def test_a_claim_takes_at_most_per_endpoint_from_each_endpoint_and_skips_excluded_ones(
    store: Any, tenant: Any
) -> None:
    busy = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/busy")
    for _ in range(10):
        await emit(store, tenant.org_id)
    quiet = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/quiet")
    await emit(store, tenant.org_id)

    batch = await claim(store, limit=5, per_endpoint=2)
    assert sorted(c.endpoint_id for c in batch) == sorted([busy.id, busy.id, quiet.id])
    assert [c.endpoint_id for c in await claim(store, held={busy.id: 100})] == []
    assert len(await claim(store, per_endpoint=3, held={busy.id: 1})) == 2
    assert len(await claim(store, per_endpoint=3)) == 3


async def test_a_rate_limited_endpoint_is_claimed_no_faster_than_its_limit(
    settings: Any, tenant: Any
) -> None:
    now = [1_800_000_000.0]
    store = Store.from_settings(settings, clock=lambda: now[0])
    try:
        await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a", rate_limit=2)
        for _ in range(6):
            await emit(store, tenant.org_id)
        [first, _] = await claim(store)  # a full bucket: one second's worth
        endpoint_id = first.endpoint_id
        # The bucket is shared by every caller (dispatcher): empty now, for anyone.
        assert await claim(store) == []
        now[0] += 0.5
        assert len(await claim(store)) == 1  # half a second: one token
        now[0] += 1.0
        # Two tokens again, but a caller holding one second's worth gets none of them
        # until it sent some.
        assert await claim(store, held={endpoint_id: 2}) == []
        assert len(await claim(store, held={endpoint_id: 1})) == 1
        assert len(await claim(store)) == 1  # the bucket's last token
        assert await claim(store) == []
    finally:
        await store.close()


async def test_410_disables_the_endpoint_and_tells_the_organizations_other_endpoints(
    store: Any, tenant: Any
) -> None:
    gone = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/gone")
    watcher = await store.webhooks.create_endpoint(
        tenant.org_id, "https://example.com/watch", event_types=["endpoint.disabled"]
    )
    first = await emit(store, tenant.org_id)
    second = await emit(store, tenant.org_id)
    [c, _] = await claim(store, per_endpoint=1) + [None]  # type: ignore[list-item]

    disabled = await store.deliveries.record_attempts(
        [record(c, "disable", status_code=410, reason="the endpoint answered 410 Gone")]
    )

    assert disabled == [gone.id]
    endpoint = await store.webhooks.get_endpoint(tenant.org_id, gone.id)
    assert not endpoint.enabled and endpoint.disabled_reason == "the endpoint answered 410 Gone"
    assert await delivery_status(store, first) == ["failed"]
    assert await delivery_status(store, second) == ["failed"]  # pending ones fail with it
    [notice] = await claim(store)
    assert notice.endpoint_id == watcher.id and notice.event_type == "endpoint.disabled"
    assert b'"endpoint_id"' in notice.body and gone.id.encode() in notice.body


async def test_an_endpoint_that_only_failed_for_the_limit_is_disabled(
    settings: Any, tenant: Any
) -> None:
    now = [1_800_000_000.0]
    store = Store(
        Database(settings.resolved_database_url, clock=lambda: now[0]),
        public_url="http://x",
        box=SecretBox.from_settings(
            settings, embedded=settings.resolved_database_url.startswith("sqlite")
        ),
    )
    limit = 5 * 86400.0
    try:
        endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
        for step, cutoff, disabled in (
            (0, limit, []),
            (3 * 86400, limit, []),
            # Five days of failures, but the store disables for a streak only when the
            # caller's policy gives it the cut-off.
            (2 * 86400, None, []),
            (0, limit, [endpoint.id]),
        ):
            now[0] += step
            await emit(store, tenant.org_id)
            [c] = await claim(store)
            assert (
                await store.deliveries.record_attempts(
                    [record(c, "retry", error="connection refused", retry_in=1e6)],
                    disable_failing_for=cutoff,
                )
                == disabled
            )
        found = await store.webhooks.get_endpoint(tenant.org_id, endpoint.id)
        assert not found.enabled and "5.0 days" in (found.disabled_reason or "")
    finally:
        await store.close()


async def test_a_success_resets_the_failure_streak(settings: Any, tenant: Any) -> None:
    now = [1_800_000_000.0]
    store = Store(
        Database(settings.resolved_database_url, clock=lambda: now[0]),
        public_url="http://x",
        box=SecretBox.from_settings(
            settings, embedded=settings.resolved_database_url.startswith("sqlite")
        ),
    )
    try:
        await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
        await emit(store, tenant.org_id)
        [c] = await claim(store)
        await store.deliveries.record_attempts(
            [record(c, "retry", status_code=500, retry_in=0)], disable_failing_for=100
        )
        [c] = await claim(store)
        await store.deliveries.record_attempts([record(c, "succeeded", status_code=200)])
        now[0] += 200
        await emit(store, tenant.org_id)
        [c] = await claim(store)
        assert (
            await store.deliveries.record_attempts(
                [record(c, "retry", status_code=500, retry_in=0)], disable_failing_for=100
            )
            == []
        )
    finally:
        await store.close()


async def test_disabling_fails_pending_deliveries_and_recover_requeues_them(
    store: Any, tenant: Any
) -> None:
    endpoint = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    since = await store.db.current_time()
    event_id = await emit(store, tenant.org_id)

    disabled = await store.webhooks.set_enabled(tenant.org_id, endpoint.id, False)
    assert not disabled.enabled and disabled.disabled_reason == "disabled by a user"
    assert await delivery_status(store, event_id) == ["failed"]
    assert await claim(store) == []
    with pytest.raises(InvalidRequest):
        await store.webhooks.recover(tenant.org_id, endpoint.id, since=since)

    await store.webhooks.set_enabled(tenant.org_id, endpoint.id, True)
    assert await store.webhooks.recover(tenant.org_id, endpoint.id, since=since + 3600) == 0
    assert await store.webhooks.recover(tenant.org_id, endpoint.id, since=since) == 1
    [again] = await claim(store)
    assert again.event_id == event_id and again.attempt == 1


async def test_resend_sends_a_delivered_message_again_with_the_same_id(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    a = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    event_id = await emit(store, tenant.org_id)
    [c] = await claim(store)
    await store.deliveries.record_attempts([record(c, "succeeded", status_code=200)])
    b = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/b")

    assert await store.webhooks.resend(tenant.org_id, event_id) == 1
    [again] = await claim(store)
    assert (again.event_id, again.endpoint_id) == (event_id, a.id)
    # to an endpoint created after the message: a new delivery
    assert await store.webhooks.resend(tenant.org_id, event_id, b.id) == 1
    [to_b] = await claim(store)
    assert (to_b.event_id, to_b.endpoint_id) == (event_id, b.id)
    with pytest.raises(NotFound):
        await store.webhooks.resend(other_tenant.org_id, event_id)


async def test_a_test_event_goes_to_its_endpoint_only(store: Any, tenant: Any) -> None:
    target = await store.webhooks.create_endpoint(
        tenant.org_id, "https://example.com/a", event_types=["job.completed"]
    )
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/b")
    event_id = await store.webhooks.send_test(tenant.org_id, target.id)
    [c] = await claim(store)
    assert (c.event_id, c.endpoint_id, c.event_type) == (event_id, target.id, "webhook.test")


async def test_messages_are_listed_newest_first_with_filters_and_read_with_every_attempt(
    store: Any, tenant: Any, other_tenant: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    created = await emit(store, tenant.org_id, "job_1", 1, "job.created")
    completed = await emit(store, tenant.org_id, "job_1", 2, "job.completed")
    other = await emit(store, tenant.org_id, "job_2", 1, "job.created")

    page = await store.webhooks.list_messages(tenant.org_id, limit=2)
    rest = await store.webhooks.list_messages(tenant.org_id, limit=2, cursor=page.next_cursor)
    assert [m.id for m in page.data + rest.data] == [other, completed, created]
    assert [
        m.id for m in (await store.webhooks.list_messages(tenant.org_id, job_id="job_1")).data
    ] == [completed, created]
    assert [
        m.id
        for m in (await store.webhooks.list_messages(tenant.org_id, types=["job.completed"])).data
    ] == [completed]
    assert (await store.webhooks.list_messages(other_tenant.org_id)).data == []

    [c, _] = await claim(store)
    await store.deliveries.record_attempts(
        [
            record(
                c, "retry", status_code=500, latency_ms=12.5, response_body="x" * 10_000, retry_in=0
            )
        ]
    )
    message = await store.webhooks.get_message(tenant.org_id, c.event_id)
    [delivery] = message.deliveries
    [attempt] = delivery.attempt_log
    assert delivery.status == "pending" and delivery.last_status_code == 500
    assert (
        attempt.status_code == 500
        and attempt.latency_ms == 12.5
        and len(attempt.response_body or "") == 4096
    )
    with pytest.raises(NotFound):
        await store.webhooks.get_message(other_tenant.org_id, c.event_id)


async def test_release_gives_claimed_deliveries_back_without_counting_the_attempt(
    store: Any, tenant: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    await emit(store, tenant.org_id)
    claimed = await claim(store)
    await store.deliveries.release(claimed)
    [again] = await claim(store)
    assert again.attempt == 1


async def test_backlog_counts_due_deliveries_and_the_oldest_pending_age(
    store: Any, tenant: Any
) -> None:
    assert (await store.deliveries.backlog()).due == 0
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    for _ in range(3):
        await emit(store, tenant.org_id)
    backlog = await store.deliveries.backlog()
    assert backlog.due == 3 and backlog.oldest_pending_age >= 0


async def test_an_attempt_whose_endpoint_was_deleted_meanwhile_is_dropped_quietly(
    store: Any, tenant: Any
) -> None:
    doomed = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    kept = await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/b")
    await emit(store, tenant.org_id)
    claimed = await claim(store)
    await store.webhooks.delete_endpoint(tenant.org_id, doomed.id)

    await store.deliveries.record_attempts(
        [record(c, "succeeded", status_code=200) for c in claimed]
    )

    [survivor] = [c for c in claimed if c.endpoint_id == kept.id]
    message = await store.webhooks.get_message(tenant.org_id, survivor.event_id)
    assert [(d.endpoint_id, d.status) for d in message.deliveries] == [(kept.id, "succeeded")]
