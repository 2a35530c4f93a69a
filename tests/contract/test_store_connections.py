"""The store's connections: PostgreSQL dropping them, the dispatcher's hot statements
on the driver (store/driver.py), and the wake-up callbacks its claim loop sleeps on."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from contract.test_store_webhooks import claim, delivery_status, emit, record
from pagewire.errors import StoreUnavailable
from pagewire.store import Store
from pagewire.store.db import Database

# Hot statements are PostgreSQL's (SQLite has no such path): those tests run there only.
postgres_only = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


class _Admin:
    """A connection of its own to end the others, as a server restart or an idle
    timeout does, opened beforehand so that nothing else runs in between."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url.replace("postgresql+asyncpg://", "postgresql://")

    async def __aenter__(self) -> _Admin:
        self.connection = await asyncpg.connect(self.url)
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.connection.close()

    async def terminate_the_others(self) -> int:
        return int(
            await self.connection.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


@postgres_only
async def test_claims_and_records_go_on_after_the_server_dropped_their_connections(
    store: Any, tenant: Any, settings: Any
) -> None:
    await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
    first = await emit(store, tenant.org_id)
    [claimed] = await claim(store)
    await store.deliveries.record_attempts([record(claimed, "succeeded", status_code=200)])

    async with _Admin(settings.resolved_database_url) as admin:
        assert await admin.terminate_the_others() >= 1
    await asyncio.sleep(0.2)  # idle meanwhile, as when a server restarts
    second = await emit(store, tenant.org_id)
    # The dropped connections were noticed from their sockets, and are replaced.
    got = await claim(store)
    assert [c.event_id for c in got] == [second]
    await store.deliveries.record_attempts([record(got[0], "succeeded", status_code=200)])
    assert await delivery_status(store, first) == ["succeeded"]
    assert await delivery_status(store, second) == ["succeeded"]


@postgres_only
async def test_a_pooled_connection_the_server_dropped_costs_one_unavailable_at_most(
    store: Any, settings: Any
) -> None:
    async with _Admin(settings.resolved_database_url) as admin:
        # Used at once, the dropped connection may or may not have been noticed from
        # its socket yet (a race: it mostly is not). Either way the caller gets an
        # answer or is told to try again (503 at the API), never a driver error.
        for _ in range(10):
            await store.db.current_time()  # a pooled connection, idle
            assert await admin.terminate_the_others() >= 1
            try:
                await store.db.current_time()
            except StoreUnavailable as error:
                assert "the database is unavailable" in str(error)
            assert await store.db.current_time() > 0  # and the next call works


@postgres_only
async def test_a_url_without_named_statements_is_honoured_for_a_transaction_pooler(
    store: Any, tenant: Any, settings: Any
) -> None:
    pooled = Database(settings.resolved_database_url + "?prepared_statement_cache_size=0")
    pooled_store = Store(pooled, public_url="http://testserver", box=store.box)
    try:
        await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
        event_id = await emit(store, tenant.org_id)
        [claimed] = await claim(pooled_store)
        await pooled_store.deliveries.record_attempts(
            [record(claimed, "succeeded", status_code=200)]
        )
        assert await delivery_status(store, event_id) == ["succeeded"]
    finally:
        await pooled.close()


@postgres_only
async def test_an_unreachable_database_is_unavailable_not_a_crash(store: Any) -> None:
    nowhere = Database("postgresql+asyncpg://postgres@127.0.0.1:9/nowhere")
    try:
        with pytest.raises(StoreUnavailable, match="the database is unavailable"):
            await Store(nowhere, public_url="http://testserver").deliveries.claim_deliveries(
                10, lease_seconds=30, per_endpoint=10
            )
    finally:
        await nowhere.close()


async def test_a_wake_up_calls_back_whoever_waits_on_its_channel(
    store: Any, tenant: Any, settings: Any
) -> None:
    here: list[str] = []
    elsewhere: list[str] = []
    stop_here = store.db.on_wake("pagewire_deliveries", lambda: here.append("woken"))
    other = Store.from_settings(settings)  # another process's store, woken by LISTEN/NOTIFY
    await other.db.start_listening()
    other.db.on_wake("pagewire_deliveries", lambda: elsewhere.append("woken"))
    try:
        await store.webhooks.create_endpoint(tenant.org_id, "https://example.com/a")
        await emit(store, tenant.org_id)
        assert here  # at the commit, in this process
        if store.db.dialect.name != "sqlite":
            for _ in range(50):
                if elsewhere:
                    break
                await asyncio.sleep(0.05)
            assert elsewhere

        stop_here()
        here.clear()
        await emit(store, tenant.org_id)
        assert here == []  # unsubscribed
    finally:
        await other.close()


async def test_a_hot_statement_with_an_in_list_is_refused_when_built() -> None:
    import sqlalchemy as sa

    from pagewire.store import tables as t

    # Its SQL would change with each list's length: it must be an array and = ANY.
    db = Database("postgresql+asyncpg://postgres@127.0.0.1:9/never-connected")
    try:
        with pytest.raises(ValueError, match="expanding"):
            db.hot(
                sa.select(t.jobs.c.id).where(t.jobs.c.id.in_(sa.bindparam("ids", expanding=True)))
            )
        assert (
            "ANY"
            in db.hot(
                sa.select(t.jobs.c.id).where(
                    t.jobs.c.id == sa.any_(sa.bindparam("ids", type_=sa.ARRAY(sa.String)))
                )
            ).sql
        )
    finally:
        await db.close()
