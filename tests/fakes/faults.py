"""A store whose chosen operations fail as a dropped database connection makes them fail.

``FaultyStore(store)`` behaves as ``store``, except that an operation named with
:meth:`FaultyStore.fail` (``"leases.finish"``, ``"deliveries.record_attempts"``)
raises :class:`StoreUnavailable` the next ``times`` calls: before its statement
runs (nothing written), or with ``after_commit`` once it has run (written, the
answer lost with the connection). It counts every call and every failure, so a
test can check that what it meant to break was reached.

:func:`kill_connections` does it for real on PostgreSQL: it terminates the
connections of one database, again and again, while the test's processes run.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from pagewire.errors import StoreUnavailable

PARTS = ("jobs", "leases", "webhooks", "deliveries")


@dataclass
class Fault:
    times: float  # failures still to come (math.inf: every call)
    after_commit: bool


class FaultyStore:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._faults: dict[str, Fault] = {}
        self.calls: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    def fail(self, operation: str, times: float = math.inf, *, after_commit: bool = False) -> None:
        """The next ``times`` calls of ``operation`` raise StoreUnavailable."""
        part, _, name = operation.partition(".")
        assert part in PARTS and callable(getattr(getattr(self._store, part), name)), operation
        self._faults[operation] = Fault(times, after_commit)

    def heal(self, operation: str | None = None) -> None:
        """``operation`` (or every one) works again."""
        if operation is None:
            self._faults.clear()
        else:
            self._faults.pop(operation, None)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._store, name)
        return _FaultyPart(self, name, target) if name in PARTS else target

    def _wrap(self, operation: str, call: Callable[..., Awaitable[Any]]) -> Any:
        async def faulty(*args: Any, **kwargs: Any) -> Any:
            self.calls[operation] += 1
            fault = self._faults.get(operation)
            if fault is None or fault.times <= 0:
                return await call(*args, **kwargs)
            fault.times -= 1
            self.failures[operation] += 1
            if fault.after_commit:
                await call(*args, **kwargs)
            raise StoreUnavailable(f"the database is unavailable: injected into {operation}")

        return faulty


class _FaultyPart:
    def __init__(self, faulty: FaultyStore, part: str, target: Any) -> None:
        self._faulty = faulty
        self._part = part
        self._target = target

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._target, name)
        if not inspect.iscoroutinefunction(found):
            return found
        return self._faulty._wrap(f"{self._part}.{name}", found)


async def kill_connections(database_url: str, *, every: float, duration: float) -> int:
    """Terminate every connection to the PostgreSQL database of ``database_url`` (as
    an administrator's ``pg_terminate_backend`` or a failover does), every ``every``
    seconds for ``duration`` seconds; how many were killed in all.

    Only that database's connections: the admin connection is to the server's
    ``postgres`` database, named by ``PAGEWIRE_TEST_POSTGRES_URL``.
    """
    base, database = database_url.rsplit("/", 1)
    admin = await asyncpg.connect(
        os.environ.get("PAGEWIRE_TEST_POSTGRES_URL") or f"{base}/postgres"
    )
    killed = 0
    try:
        deadline = time.monotonic() + duration
        while time.monotonic() < deadline:
            killed += len(
                await admin.fetch(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = $1 AND pid <> pg_backend_pid()",
                    database,
                )
            )
            await asyncio.sleep(every)
    finally:
        await admin.close()
    return killed
