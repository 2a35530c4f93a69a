"""The per-organization request limit holds across API nodes (store/ratelimits.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx

from pagewire.app import create_app
from pagewire.store import Store


@asynccontextmanager
async def api_node(settings: Any, clock: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An API node of its own (its own store and pool) on the test's database."""
    store = Store.from_settings(settings, clock=clock)
    app = create_app(settings, store=store)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
                yield client
    finally:
        await store.close()


async def test_two_api_nodes_share_one_limit_and_refuse_with_retry_after(
    settings_factory: Any, store: Any, tenant: Any, other_tenant: Any
) -> None:
    settings = settings_factory(rate_limit_per_second=2, rate_limit_burst=3)
    now = [1_000_000.0]
    async with AsyncExitStack() as stack:
        nodes = [await stack.enter_async_context(api_node(settings, lambda: now[0])) for _ in "ab"]

        async def burst_of(count: int) -> list[httpx.Response]:
            return [await nodes[i % 2].get("/jobs", headers=tenant.headers) for i in range(count)]

        first = await burst_of(8)
        # one bucket for both nodes: the burst of 3, not 3 per node
        assert [r.status_code for r in first] == [200] * 3 + [429] * 5
        refused = first[3]
        assert refused.json()["error"]["code"] == "rate_limited"
        # 1 token short at 2 a second: half a second, rounded up to a whole one
        assert refused.headers["retry-after"] == "1"
        # another organization has its own bucket
        assert (await nodes[1].get("/jobs", headers=other_tenant.headers)).status_code == 200

        now[0] += 1.0  # two tokens refilled, whichever node asks
        again = await burst_of(4)
        assert [r.status_code for r in again] == [200, 200, 429, 429]


async def test_a_clock_set_back_does_not_lock_an_organization_out(
    settings_factory: Any, store: Any, tenant: Any
) -> None:
    settings = settings_factory(rate_limit_per_second=2, rate_limit_burst=3)
    now = [1_000_000.0]
    async with api_node(settings, lambda: now[0]) as node:
        first = [(await node.get("/jobs", headers=tenant.headers)).status_code for _ in range(4)]
        assert first == [200, 200, 200, 429]
        now[0] -= 50 * 3600  # the database's clock set back by 50 hours
        after = [(await node.get("/jobs", headers=tenant.headers)) for _ in range(4)]
    assert [r.status_code for r in after] == [200, 200, 200, 429]
    assert after[3].headers["retry-after"] == "1"  # not the 50 hours
