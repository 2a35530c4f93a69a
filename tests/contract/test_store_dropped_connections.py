"""A connection the server ended is StoreUnavailable, whatever the driver calls it.

Callers retry StoreUnavailable and treat anything else as a statement the database
refused for good: a worker failed a customer's job, and the dispatcher dropped a
batch of attempt records, on errors of a dropped connection that came out under
another name (asyncpg's InternalClientError, "cannot switch to state ...", for a
connection the server ended while it sat idle and asyncpg had not noticed yet).
Here the server ends every connection between two uses, again and again.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from contract.test_store_connections import _Admin, postgres_only
from pagewire.errors import StoreUnavailable

ROUNDS = 40


@postgres_only
@pytest.mark.parametrize("path", ["hot statement", "transaction"])
async def test_a_connection_ended_between_two_uses_is_only_ever_unavailable(
    store: Any, settings: Any, path: str
) -> None:
    hot = store.db.hot(sa.select(sa.literal(1)))

    async def use() -> None:
        if path == "hot statement":
            await store.db.run_hot(hot, {})
        else:
            async with store.db.write() as conn:
                await conn.execute(sa.select(sa.literal(1)))

    unavailable = 0
    async with _Admin(settings.resolved_database_url) as admin:
        for _ in range(ROUNDS):
            await use()
            await admin.terminate_the_others()
            try:
                await use()  # any other error fails the test
            except StoreUnavailable:
                unavailable += 1

    assert unavailable >= 1  # the ended connections were met, not only replaced
    await use()  # and the next use works
