"""The portal's message log on SQLite and PostgreSQL: each message's state, and filters by it."""

from __future__ import annotations

from typing import Any

import pytest

from pagewire.errors import InvalidRequest
from pagewire.models import AttemptRecord, Verdict
from pagewire.store.message_log import message_state
from support import Tenant
from webhooks.support import emit


async def record(store: Any, outcomes: dict[tuple[str, str], Verdict]) -> None:
    """Claim every due delivery and record ``outcomes[(message, endpoint)]`` for each."""
    claimed = await store.deliveries.claim_deliveries(20, lease_seconds=30, per_endpoint=20)
    assert {(c.event_id, c.endpoint_id) for c in claimed} == set(outcomes)
    await store.deliveries.record_attempts(
        [
            AttemptRecord(
                delivery=c,
                verdict=(verdict := outcomes[(c.event_id, c.endpoint_id)]),
                status_code=200 if verdict == "succeeded" else 500,
                latency_ms=5.0,
                retry_in=3600 if verdict == "retry" else None,
                reason="out of retries" if verdict == "failed" else None,
            )
            for c in claimed
        ]
    )


@pytest.fixture
async def messages(store: Any, tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """One message in each state, one to two endpoints, one to none, and another org's."""
    ids: dict[str, Any] = {}
    ids["unsent"], _ = await emit(store, tenant.org_id, type_="job.completed")
    a = await store.webhooks.create_endpoint(tenant.org_id, "https://a.example.com/h")
    b = await store.webhooks.create_endpoint(
        tenant.org_id, "https://b.example.com/h", event_types=["job.failed"]
    )
    theirs = await store.webhooks.create_endpoint(other_tenant.org_id, "https://c.example.com/h")
    ids.update(a=a.id, b=b.id)
    for name in ("succeeded", "failing", "failed"):
        ids[name], _ = await emit(store, tenant.org_id, type_="job.completed")
    ids["mixed"], _ = await emit(store, tenant.org_id, type_="job.failed")  # to a and b
    ids["theirs"], _ = await emit(store, other_tenant.org_id, type_="job.failed")
    await record(
        store,
        {
            (ids["succeeded"], a.id): "succeeded",
            (ids["failing"], a.id): "retry",
            (ids["failed"], a.id): "failed",
            (ids["mixed"], a.id): "succeeded",
            (ids["mixed"], b.id): "failed",
            (ids["theirs"], theirs.id): "failed",
        },
    )
    ids["pending"], _ = await emit(store, tenant.org_id, type_="job.completed")
    return ids


async def log(store: Any, org_id: str, **filters: Any) -> dict[str, str | None]:
    page = await store.portal.message_log(org_id, **filters)
    return {line.event.id: line.status for line in page.data}


async def test_each_message_shows_the_worst_state_of_its_deliveries(
    store: Any, tenant: Tenant, messages: dict[str, Any]
) -> None:
    shown = await log(store, tenant.org_id)

    assert shown == {
        messages["unsent"]: None,
        messages["succeeded"]: "succeeded",
        messages["failing"]: "failing",
        messages["failed"]: "failed",
        messages["mixed"]: "failed",  # one endpoint got it, the other never will
        messages["pending"]: "pending",
    }


@pytest.mark.parametrize("state", ["succeeded", "failing", "failed", "pending"])
async def test_filtering_by_state_lists_exactly_the_messages_shown_in_that_state(
    store: Any, tenant: Tenant, messages: dict[str, Any], state: str
) -> None:
    everything = await log(store, tenant.org_id)

    filtered = await log(store, tenant.org_id, status=state)

    assert filtered == {m: s for m, s in everything.items() if s == state}
    assert messages["theirs"] not in filtered


async def test_filtering_by_endpoint_judges_each_message_by_that_endpoints_delivery(
    store: Any, tenant: Tenant, other_tenant: Tenant, messages: dict[str, Any]
) -> None:
    to_a = await log(store, tenant.org_id, endpoint_id=messages["a"])
    to_b = await log(store, tenant.org_id, endpoint_id=messages["b"])
    a_succeeded = await log(store, tenant.org_id, endpoint_id=messages["a"], status="succeeded")
    not_theirs = await log(store, other_tenant.org_id, endpoint_id=messages["a"])

    assert messages["unsent"] not in to_a and to_a[messages["mixed"]] == "succeeded"
    assert to_b == {messages["mixed"]: "failed"}
    assert set(a_succeeded) == {messages["succeeded"], messages["mixed"]}
    assert not_theirs == {}


async def test_pages_keep_the_filter_and_an_unknown_state_is_refused(
    store: Any, tenant: Tenant, messages: dict[str, Any]
) -> None:
    first = await store.portal.message_log(tenant.org_id, status="failed", limit=1)
    second = await store.portal.message_log(
        tenant.org_id, status="failed", limit=1, cursor=first.next_cursor
    )
    with pytest.raises(InvalidRequest) as refused:
        await store.portal.message_log(tenant.org_id, status="broken")

    assert [m.event.id for m in first.data] == [messages["mixed"]]
    assert [m.event.id for m in second.data] == [messages["failed"]]
    assert second.next_cursor is None
    assert refused.value.code == "invalid_status"


def test_the_state_rule_orders_states_worst_first() -> None:
    assert message_state([]) is None
    assert message_state([("succeeded", None), ("pending", None)]) == "pending"
    assert message_state([("pending", None), ("pending", "HTTP 500")]) == "failing"
    assert message_state([("pending", "HTTP 500"), ("failed", "gone")]) == "failed"
    assert message_state([("succeeded", None), ("succeeded", None)]) == "succeeded"
