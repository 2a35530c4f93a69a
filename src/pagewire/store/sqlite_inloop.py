"""SQLite on the event loop's own thread: the subset of SQLAlchemy's async API we use.

SQLite answers most statements faster than a thread can be woken; the aiosqlite
driver hands every statement to a worker thread and back, a round trip that costs
far more than the statement, and a job's claim or outcome is five of them. Run in
place, a write transaction is short enough that the embedded default's queue keeps
up with a steady load without its writers queueing behind each other.

What makes this safe to do on the event loop:

* A writer never waits inside SQLite for another writer of this process: the
  :class:`~pagewire.store.dialect.SqliteDialect`'s write lock queues them first, in asyncio.
* Another process's writer (a second worker, the CLI) makes ``BEGIN IMMEDIATE``
  fail within 5 ms with "database is locked" (``busy_timeout`` is 5 ms here); the
  begin is retried with ``asyncio.sleep`` in between, so the loop keeps running.
* In WAL mode a reader never waits for a writer.
* Statements are short by construction: every list is paginated and every sweep
  works in batches; documents are parsed in child processes, never here.
* The one slow thing SQLite does on its own, the WAL checkpoint (copying the log
  into the database file, with an fsync), would run inside a commit on the loop: it
  is turned off on these connections (``wal_autocheckpoint=0``) and the
  :class:`~pagewire.store.dialect.SqliteDialect` runs :meth:`InLoopEngine.checkpoint` every
  ``CHECKPOINT_EVERY`` commits, in a thread, while its writers wait in asyncio (so
  the checkpoint completes and the next write starts the log over; readers and the
  loop go on).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Connection, Engine, Result

T = TypeVar("T")

BUSY_WAIT_SECONDS = 30.0  # how long a write waits for another process's transaction
CHECKPOINT_EVERY = 200  # commits between two WAL checkpoints (a few MB of log at most)


class InLoopConnection:
    """An ``AsyncConnection`` look-alike whose statements run where they are awaited."""

    def __init__(self, sync: Connection) -> None:
        self.sync_connection = sync

    @property
    def info(self) -> dict[str, Any]:
        return self.sync_connection.info

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        return self.sync_connection.execute(statement, parameters)

    async def exec_driver_sql(self, statement: str, parameters: Any = None) -> Result[Any]:
        return self.sync_connection.exec_driver_sql(statement, parameters)

    async def execution_options(self, **options: Any) -> InLoopConnection:
        self.sync_connection.execution_options(**options)
        return self

    def get_execution_options(self) -> Any:
        return self.sync_connection.get_execution_options()

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self.sync_connection, *args, **kwargs)

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[InLoopConnection]:
        transaction = await self._begin()
        try:
            yield self
        except BaseException:
            transaction.rollback()
            raise
        else:
            transaction.commit()

    async def _begin(self) -> Any:
        """Begin, waiting out another process's write transaction without blocking."""
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        pause = 0.001
        while True:
            try:
                return self.sync_connection.begin()
            except exc.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
                # The failed BEGIN left no transaction open; try again shortly.
                self.sync_connection.rollback()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def close(self) -> None:
        self.sync_connection.close()

    async def __aenter__(self) -> InLoopConnection:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


class InLoopEngine:
    """An ``AsyncEngine`` look-alike over a synchronous SQLite engine."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        sync_url = sa.make_url(url).set(drivername="sqlite")
        self.sync_engine: Engine = sa.create_engine(sync_url, **kwargs)
        self.url = self.sync_engine.url

    def connect(self) -> InLoopConnection:
        return InLoopConnection(self.sync_engine.connect())

    async def checkpoint(self) -> None:
        """Copy what the WAL holds into the database file, in a thread."""
        path = self.url.database
        if path and path != ":memory:":
            await asyncio.get_running_loop().run_in_executor(None, _checkpoint, path)

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[InLoopConnection]:
        async with self.connect() as conn, conn.begin():
            yield conn

    async def dispose(self) -> None:
        self.sync_engine.dispose()


def _checkpoint(path: str) -> None:
    """Copy what the WAL holds into the database file, waiting for nobody."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=0)) as conn:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error:
        pass  # another process checkpoints meanwhile: the next round catches up
