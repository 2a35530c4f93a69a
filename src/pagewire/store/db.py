"""The connection to SQLite or PostgreSQL, and every place the two differ.

* Transactions: ``write()`` is ``BEGIN IMMEDIATE`` on SQLite (writers queue on an
  in-process lock first, so they never spin on SQLITE_BUSY inside one process) and an
  ordinary transaction on PostgreSQL; ``read()`` never takes the write lock.
* The clock: ``now()`` is the database's clock (``clock_timestamp()`` / ``julianday``),
  or a bound value from an injected clock in tests.
* Wake-ups: ``notify(channel)`` inside a write becomes ``pg_notify`` on PostgreSQL and
  always sets an in-process event after commit; ``wait(channel, timeout)`` returns
  on either, or after the timeout (the polling fallback, which is all there is
  behind a pooler in transaction mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from pagewire.errors import StoreUnavailable

log = logging.getLogger(__name__)

CHANNELS = ("pagewire_jobs", "pagewire_deliveries")


class db_now(FunctionElement[float]):
    """The database's current time in epoch seconds."""

    type = sa.Double()
    inherit_cache = True


@compiles(db_now, "postgresql")
def _pg_now(element: Any, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(db_now, "sqlite")
def _sqlite_now(element: Any, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


class Database:
    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] | None = None,
        listen: bool = True,
        pool_size: int = 10,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._clock = clock
        self._listen = listen and not self.is_sqlite
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._events: dict[str, asyncio.Event] = {c: asyncio.Event() for c in CHANNELS}
        self._listener: Any = None
        self.engine: AsyncEngine = self._make_engine(pool_size)

    def _make_engine(self, pool_size: int) -> AsyncEngine:
        if self.is_sqlite:
            engine = create_async_engine(self.url, connect_args={"timeout": 30})

            @event.listens_for(engine.sync_engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                # Take transaction control from the driver so we can say BEGIN IMMEDIATE.
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")
                cur.close()

            @event.listens_for(engine.sync_engine, "begin")
            def _on_begin(conn: Any) -> None:
                mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
                conn.exec_driver_sql(f"BEGIN {mode}")

            return engine
        return create_async_engine(
            self.url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )

    # -- time ---------------------------------------------------------------

    def now(self) -> ColumnElement[float]:
        if self._clock is not None:
            return sa.literal(self._clock(), sa.Double())
        return db_now()

    async def current_time(self) -> float:
        async with self.read() as conn:
            return float((await conn.execute(sa.select(self.now()))).scalar_one())

    # -- transactions -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        lock = self._write_lock or contextlib.nullcontext()
        async with lock:
            try:
                async with self.engine.connect() as conn:
                    if self.is_sqlite:
                        conn = await conn.execution_options(sqlite_begin="IMMEDIATE")
                    notified: set[str] = set()
                    conn.info["notify"] = notified
                    async with conn.begin():
                        yield conn
            except (exc.OperationalError, exc.InterfaceError, OSError) as error:
                raise StoreUnavailable(f"the database is unavailable: {error}") from error
        for channel in notified:
            self._events[channel].set()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                async with conn.begin():
                    yield conn
        except (exc.OperationalError, exc.InterfaceError, OSError) as error:
            raise StoreUnavailable(f"the database is unavailable: {error}") from error

    # -- wake-ups -----------------------------------------------------------

    async def notify(self, conn: AsyncConnection, channel: str) -> None:
        """Wake whoever waits on ``channel`` once this transaction commits."""
        notified: set[str] = conn.info.setdefault("notify", set())
        if channel in notified:
            return
        notified.add(channel)
        if not self.is_sqlite and self._listen:
            await conn.execute(sa.select(sa.func.pg_notify(channel, "")))

    async def wait(self, channel: str, timeout: float) -> bool:
        """Wait for a wake-up on ``channel``; False when the timeout passed first."""
        flag = self._events[channel]
        try:
            await asyncio.wait_for(flag.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            flag.clear()

    async def start_listening(self) -> None:
        """LISTEN on PostgreSQL; on failure (a transaction-mode pooler) fall back to polling."""
        if not self._listen or self._listener is not None:
            return
        try:
            import asyncpg

            dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = await asyncpg.connect(dsn)
            for channel in CHANNELS:
                await self._listener.add_listener(channel, self._on_notification)
        except Exception as error:
            log.warning("LISTEN unavailable, polling only", extra={"error": str(error)})
            self._listener = None

    def _on_notification(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        if channel in self._events:
            self._events[channel].set()

    async def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        await self.engine.dispose()

    async def ping(self) -> None:
        async with self.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
