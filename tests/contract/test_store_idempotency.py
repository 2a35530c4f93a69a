"""The idempotency-key store's contract (claim, finish, release, expiry, prune), on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pagewire.blobs import LocalBlobStore
from pagewire.errors import Conflict
from pagewire.models import StoredResponse
from pagewire.store import Store
from pagewire.store.idempotency import ABANDONED_AFTER_SECONDS, KEY_TTL_SECONDS
from pagewire.worker.retention import sweep

CREATE = "POST /webhook/endpoints 0f1e"
OTHER = "POST /webhook/endpoints 9a8b"
CREATED = '{"id":"ep_1","secret":"whsec_abc"}'


@pytest.fixture
async def clocked(settings: Any, store: Any) -> AsyncIterator[tuple[Store, list[float]]]:
    """A second Store on the same database whose clock the test moves."""
    now = [1_800_000_000.0]
    clocked_store = Store.from_settings(settings, clock=lambda: now[0])
    try:
        yield clocked_store, now
    finally:
        await clocked_store.close()


async def conflict_code(call: Any) -> str:
    with pytest.raises(Conflict) as raised:
        await call
    return raised.value.code


async def test_a_claimed_key_is_in_progress_until_finished_then_replays_its_response(
    store: Any, tenant: Any
) -> None:
    keys = store.idempotency

    assert await keys.claim(tenant.org_id, "k", CREATE) is None
    assert await conflict_code(keys.claim(tenant.org_id, "k", CREATE)) == "idempotency_in_progress"
    await keys.finish(tenant.org_id, "k", 201, CREATED)

    assert await keys.claim(tenant.org_id, "k", CREATE) == StoredResponse(201, CREATED)
    assert await keys.claim(tenant.org_id, "k", CREATE) == StoredResponse(201, CREATED)


async def test_a_key_used_with_another_request_is_a_conflict_running_or_finished(
    store: Any, tenant: Any
) -> None:
    keys = store.idempotency
    await keys.claim(tenant.org_id, "k", CREATE)

    assert await conflict_code(keys.claim(tenant.org_id, "k", OTHER)) == "idempotency_conflict"
    await keys.finish(tenant.org_id, "k", 201, CREATED)
    assert await conflict_code(keys.claim(tenant.org_id, "k", OTHER)) == "idempotency_conflict"


async def test_keys_belong_to_one_organization(store: Any, tenant: Any, other_tenant: Any) -> None:
    keys = store.idempotency
    await keys.claim(tenant.org_id, "k", CREATE)
    await keys.finish(tenant.org_id, "k", 201, CREATED)

    assert await keys.claim(other_tenant.org_id, "k", OTHER) is None
    await keys.finish(other_tenant.org_id, "k", 202, "{}")
    assert await keys.claim(tenant.org_id, "k", CREATE) == StoredResponse(201, CREATED)
    assert await keys.claim(other_tenant.org_id, "k", OTHER) == StoredResponse(202, "{}")


async def test_a_released_claim_lets_the_next_request_run_but_a_finished_one_stays(
    store: Any, tenant: Any
) -> None:
    keys = store.idempotency
    await keys.claim(tenant.org_id, "k", CREATE)
    await keys.release(tenant.org_id, "k")

    assert await keys.claim(tenant.org_id, "k", OTHER) is None
    await keys.finish(tenant.org_id, "k", 400, '{"error":{}}')
    await keys.release(tenant.org_id, "k")
    assert await keys.claim(tenant.org_id, "k", OTHER) == StoredResponse(400, '{"error":{}}')


async def test_concurrent_claims_of_one_new_key_let_exactly_one_run(
    store: Any, tenant: Any
) -> None:
    outcomes = await asyncio.gather(
        *(store.idempotency.claim(tenant.org_id, "burst", CREATE) for _ in range(20)),
        return_exceptions=True,
    )

    assert outcomes.count(None) == 1
    others = [o for o in outcomes if o is not None]
    assert all(isinstance(o, Conflict) and o.code == "idempotency_in_progress" for o in others)


async def test_a_key_expires_24_hours_after_its_first_use(
    clocked: tuple[Store, list[float]], tenant: Any
) -> None:
    store, now = clocked
    keys = store.idempotency
    await keys.claim(tenant.org_id, "k", CREATE)
    await keys.finish(tenant.org_id, "k", 201, CREATED)

    now[0] += KEY_TTL_SECONDS - 1
    assert await keys.claim(tenant.org_id, "k", CREATE) == StoredResponse(201, CREATED)
    now[0] += 1
    assert await keys.claim(tenant.org_id, "k", OTHER) is None  # free for any request
    assert await conflict_code(keys.claim(tenant.org_id, "k", CREATE)) == "idempotency_conflict"


async def test_an_abandoned_claim_can_be_taken_over_by_the_same_request(
    clocked: tuple[Store, list[float]], tenant: Any
) -> None:
    store, now = clocked
    await store.idempotency.claim(tenant.org_id, "k", CREATE)  # its process died

    now[0] += ABANDONED_AFTER_SECONDS - 1  # it might still be running
    assert await conflict_code(store.idempotency.claim(tenant.org_id, "k", CREATE)) == (
        "idempotency_in_progress"
    )
    now[0] += 1
    assert await conflict_code(store.idempotency.claim(tenant.org_id, "k", OTHER)) == (
        "idempotency_conflict"  # abandoned or not, the key belongs to its request
    )
    assert await store.idempotency.claim(tenant.org_id, "k", CREATE) is None  # taken over
    await store.idempotency.finish(tenant.org_id, "k", 201, CREATED)
    assert await store.idempotency.claim(tenant.org_id, "k", CREATE) == StoredResponse(201, CREATED)


async def test_the_retention_sweep_prunes_expired_keys_and_keeps_live_ones(
    clocked: tuple[Store, list[float]], tenant: Any, other_tenant: Any, settings: Any
) -> None:
    store, now = clocked
    keys = store.idempotency
    for org_id in (tenant.org_id, other_tenant.org_id):
        for key in ("a", "b", "c"):
            await keys.claim(org_id, key, CREATE)
    await keys.finish(tenant.org_id, "a", 201, CREATED)
    now[0] += KEY_TTL_SECONDS - 10
    await keys.claim(tenant.org_id, "fresh", CREATE)
    now[0] += 10

    assert await keys.prune(limit=4) == 4  # in batches
    await sweep(store, LocalBlobStore(settings.data_dir / "blobs"), settings)

    assert await keys.prune() == 0
    await keys.finish(tenant.org_id, "fresh", 202, "{}")
    assert await keys.claim(tenant.org_id, "fresh", CREATE) == StoredResponse(202, "{}")
    assert await keys.claim(tenant.org_id, "a", OTHER) is None  # pruned: free again


def test_a_stored_response_keeps_its_body_out_of_its_repr() -> None:
    assert "whsec_" not in repr(StoredResponse(201, CREATED))
