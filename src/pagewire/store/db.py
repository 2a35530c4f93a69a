"""The connection to the database: transactions, the clock, hot statements, wake-ups.

How SQLite and PostgreSQL differ is the business of :attr:`Database.dialect`
(:mod:`pagewire.store.dialect`), chosen once from the URL.

* Transactions: ``write()`` holds the dialect's writer lock around a transaction
  begun for writing (``BEGIN IMMEDIATE`` behind an in-process lock on SQLite, so
  writers never spin on SQLITE_BUSY inside one process; an ordinary transaction on
  PostgreSQL); ``read()`` never takes the write lock.
* The clock: ``now()`` is the database's clock (:class:`~pagewire.store.dialect.db_now`),
  or a bound value from an injected clock in tests.
* Hot statements: where the dialect has them (PostgreSQL), ``hot()`` compiles a
  statement once and ``run_hot()`` runs it alone on asyncpg connections kept for it
  (``driver.py``), without SQLAlchemy's per-execution work: the dispatcher's claim
  and record.
* Wake-ups: ``notify(channel)`` inside a write becomes ``pg_notify`` on PostgreSQL and
  always sets an in-process event after commit; ``wait(channel, timeout)`` returns
  on either, or after the timeout (the polling fallback, which is all there is
  behind a pooler in transaction mode); ``on_wake(channel, callback)`` is called
  back at either.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.expression import ColumnElement

from pagewire.errors import StoreUnavailable
from pagewire.store.dialect import Dialect, db_now, dialect_for
from pagewire.store.driver import (
    DriverConnections,
    HotStatement,
    connection_failed,
    hide_values,
)

T = TypeVar("T")

CHANNELS = ("pagewire_jobs", "pagewire_deliveries")


def _raise_if_unavailable(error: BaseException) -> None:
    """StoreUnavailable for a failure of the connection, not of the statement: the
    caller may try again. That includes a pooled connection the server closed that
    was used before its socket said so (SQLAlchemy then invalidates it).

    Either way the error leaves quoting no values: the engines hide bound
    parameters (``hide_parameters``), and the server's DETAIL is dropped here. The
    message is the driver's, without the statement (it reaches API clients in a 503).
    """
    hide_values(error)
    if (
        isinstance(error, OSError | exc.OperationalError | exc.InterfaceError)
        or (isinstance(error, exc.DBAPIError) and error.connection_invalidated)
        or connection_failed(error)
    ):
        raise StoreUnavailable(f"the database is unavailable: {_reason(error)}") from error


def _reason(error: BaseException) -> str:
    """The driver's own words for ``error`` (SQLAlchemy's text adds the statement)."""
    if isinstance(error, exc.DBAPIError) and error.orig is not None:
        return str(error.orig)
    return str(error)


# SQLSTATEs of a server that may take us later: restarting or stopped by an
# administrator (57P01, 57P02), starting up or shutting down (57P03), out of
# connection slots (53300); and every connection exception (class 08).
_TRANSIENT_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})


def _is_transient(error: BaseException) -> bool:
    """Whether connecting again later may succeed. A socket error (refused, reset, timed
    out, a name not resolvable yet) may; so may a server that says it is starting up or
    out of slots. An unknown role, a wrong password, a missing database (class 28, 3D)
    or a SQLite file that cannot be opened will not, whatever the wait."""
    if isinstance(error, OSError):
        return True
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    state = getattr(getattr(error, "orig", None), "sqlstate", None)
    return isinstance(state, str) and (state.startswith("08") or state in _TRANSIENT_SQLSTATES)


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
        self.dialect: Dialect = dialect_for(url)
        self._clock = clock
        self._listen = listen and self.dialect.listens
        self._events: dict[str, asyncio.Event] = {c: asyncio.Event() for c in CHANNELS}
        self._wakers: dict[str, list[Callable[[], None]]] = {c: [] for c in CHANNELS}
        self._listener: Any = None
        self._prepared: dict[str, Any] = {}
        self.engine: AsyncEngine = self.dialect.create_engine(url, pool_size)
        self._driver = DriverConnections(self.engine) if self.dialect.hot_statements else None

    def prepared(self, name: str, build: Callable[[], T]) -> T:
        """The statement ``name`` for this database's dialect, built on first use only."""
        statement = self._prepared.get(name)
        if statement is None:
            statement = self._prepared[name] = build()
        return cast(T, statement)

    # -- time ---------------------------------------------------------------

    def now(self) -> ColumnElement[float]:
        if self._clock is not None:
            # Read when the statement runs, not when it is built: hot statements are
            # built once and reused.
            return sa.bindparam(None, callable_=self._clock, type_=sa.Double())
        return db_now()

    async def current_time(self) -> float:
        async with self.read() as conn:
            return float((await conn.execute(sa.select(self.now()))).scalar_one())

    # -- transactions -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction. (A single hot statement on PostgreSQL needs none:
        :meth:`run_hot`.)"""
        async with self.dialect.writers():
            try:
                async with self.engine.connect() as conn:
                    conn = await self.dialect.begin_write(conn)
                    notified: set[str] = set()
                    conn.info["notify"] = notified
                    async with conn.begin():
                        yield conn
            except (exc.DBAPIError, OSError) as error:
                _raise_if_unavailable(error)
                raise
        for channel in notified:
            self._wake(channel)
        self.dialect.committed()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        try:
            async with self.engine.connect() as conn:
                async with conn.begin():
                    yield conn
        except (exc.DBAPIError, OSError) as error:
            _raise_if_unavailable(error)
            raise

    # -- hot statements (PostgreSQL) -----------------------------------------

    def hot(self, statement: Any) -> HotStatement:
        """PostgreSQL: ``statement`` compiled once, for :meth:`run_hot`."""
        assert self._driver is not None, "hot statements are for PostgreSQL"
        return self._driver.compile(statement)

    async def run_hot(self, statement: HotStatement, params: dict[str, Any]) -> Sequence[Any]:
        """Run a hot statement alone (atomic by itself) on the driver; its rows, by
        position. For the dispatcher's statements, which run all the time (driver.py)."""
        assert self._driver is not None, "hot statements are for PostgreSQL"
        return await self._driver.fetch(statement, params)

    # -- wake-ups -----------------------------------------------------------

    async def notify(self, conn: AsyncConnection, channel: str) -> None:
        """Wake whoever waits on ``channel`` once this transaction commits."""
        notified: set[str] = conn.info.setdefault("notify", set())
        if channel in notified:
            return
        notified.add(channel)
        if self._listen:
            await self.dialect.notify(conn, channel)

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
        self._listener = await self.dialect.listen(self.engine, CHANNELS, self._on_notification)

    def on_wake(self, channel: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` at every wake-up on ``channel`` (for a loop that waits on
        several things at once); returns what undoes it."""
        self._wakers[channel].append(callback)
        return lambda: self._wakers[channel].remove(callback)

    def _wake(self, channel: str) -> None:
        self._events[channel].set()
        for callback in self._wakers[channel]:
            callback()

    def _on_notification(self, _conn: Any, _pid: int, channel: str, _payload: str) -> None:
        if channel in self._events:
            self._wake(channel)

    async def close(self) -> None:
        await self.dialect.close()
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._driver is not None:
            await self._driver.close()
        await self.engine.dispose()

    async def ping(self) -> None:
        """Connect and run a query; any failure (refused, unknown role, no file) is
        :class:`StoreUnavailable` with the driver's own words, ``transient`` when
        waiting may help."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except exc.DBAPIError as error:
            hide_values(error)
            raise StoreUnavailable(
                f"the database is unavailable: {_reason(error)}", transient=_is_transient(error)
            ) from error
        except OSError as error:
            raise StoreUnavailable(f"the database is unavailable: {_reason(error)}") from error

    async def autovacuum_on(self) -> bool:
        """Whether the database vacuums on its own (SQLite has nothing to vacuum)."""
        return await self.dialect.autovacuum_on(self.read)


def database_location(url: str) -> str:
    """Where a URL's database is, for people: its file, or the URL without its password."""
    file = dialect_for(url).database_file(url)
    if file is not None:
        return str(file)
    return sa.make_url(url).set(drivername=url.split(":", 1)[0].split("+", 1)[0]).render_as_string()
