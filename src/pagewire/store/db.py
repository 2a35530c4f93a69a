"""The connection to SQLite or PostgreSQL, and every place the two differ.

* Transactions: ``write()`` is ``BEGIN IMMEDIATE`` on SQLite (writers queue on an
  in-process lock first, so they never spin on SQLITE_BUSY inside one process) and an
  ordinary transaction on PostgreSQL; ``read()`` never takes the write lock.
* The clock: ``now()`` is the database's clock (``clock_timestamp()`` / ``julianday``),
  or a bound value from an injected clock in tests.
* Hot statements: on PostgreSQL, ``hot()`` compiles a statement once and
  ``run_hot()`` runs it alone on asyncpg connections kept for it (``driver.py``),
  without SQLAlchemy's per-execution work: the dispatcher's claim and record.
* Batches: ``rows_table()`` is a derived table read from parameters of any length
  (typed arrays through ``unnest`` on PostgreSQL, one JSON array through
  ``json_each`` on SQLite), so one statement, compiled and prepared once, carries a
  batch of any size.
* Wake-ups: ``notify(channel)`` inside a write becomes ``pg_notify`` on PostgreSQL and
  always sets an in-process event after commit; ``wait(channel, timeout)`` returns
  on either, or after the timeout (the polling fallback, which is all there is
  behind a pooler in transaction mode); ``on_wake(channel, callback)`` is called
  back at either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import CTE, ColumnElement, FunctionElement, Subquery
from sqlalchemy.types import TypeEngine

from pagewire.errors import StoreUnavailable
from pagewire.store.driver import DriverConnections, HotStatement
from pagewire.store.sqlite_inloop import CHECKPOINT_EVERY, InLoopEngine

log = logging.getLogger(__name__)
T = TypeVar("T")

CHANNELS = ("pagewire_jobs", "pagewire_deliveries")
_NOTIFY = {channel: sa.select(sa.func.pg_notify(channel, "")) for channel in CHANNELS}


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


def among(column: ColumnElement[str], *, sqlite: bool, param: str = "ids") -> ColumnElement[bool]:
    """``column`` is one of the values of the list parameter ``param``.

    ``= ANY($1)`` on PostgreSQL: one prepared statement whatever the list's length
    (an ``IN`` list of n values is a new statement to parse and plan for every n),
    and a primary-key probe per value even for a planner without statistics, where a
    join to a derived table alone gets a hash join over the whole table. An
    expanding ``IN`` on SQLite.
    """
    if sqlite:
        return column.in_(sa.bindparam(param, expanding=True))
    return column == sa.any_(sa.bindparam(param, type_=ARRAY(sa.String)))


def _raise_if_unavailable(error: BaseException) -> None:
    """StoreUnavailable for a failure of the connection, not of the statement: the
    caller may try again. That includes a pooled connection the server closed that
    was used before its socket said so (SQLAlchemy then invalidates it)."""
    if isinstance(error, OSError | exc.OperationalError | exc.InterfaceError) or (
        isinstance(error, exc.DBAPIError) and error.connection_invalidated
    ):
        raise StoreUnavailable(f"the database is unavailable: {error}") from error


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
        self._wakers: dict[str, list[Callable[[], None]]] = {c: [] for c in CHANNELS}
        self._listener: Any = None
        self._prepared: dict[str, Any] = {}
        self._sqlite_commits = 0
        self._checkpoints: set[asyncio.Task[None]] = set()
        self.engine: AsyncEngine = self._make_engine(pool_size)
        self._driver = None if self.is_sqlite else DriverConnections(self.engine)

    def prepared(self, name: str, build: Callable[[], T]) -> T:
        """The statement ``name`` for this database's dialect, built on first use only."""
        statement = self._prepared.get(name)
        if statement is None:
            statement = self._prepared[name] = build()
        return cast(T, statement)

    def _make_engine(self, pool_size: int) -> AsyncEngine:
        if self.is_sqlite:
            # Statements run on the event loop's thread (see sqlite_inloop); the
            # connections never leave it, but the pool may close one from the GC.
            in_loop = InLoopEngine(
                self.url,
                connect_args={"check_same_thread": False},
                # A pool that made a caller wait would block the event loop: any number
                # of connections may be open (five are kept).
                pool_size=5,
                max_overflow=-1,
            )

            @event.listens_for(in_loop.sync_engine, "connect")
            def _on_connect(dbapi_conn: Any, _record: Any) -> None:
                # Take transaction control from the driver so we can say BEGIN IMMEDIATE.
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA wal_autocheckpoint=0")  # done off the loop instead
                # Hardly ever wait inside SQLite (that would stop the event loop):
                # another process's write makes BEGIN IMMEDIATE fail within 5 ms, and
                # it is retried with asyncio.sleep in between.
                cur.execute("PRAGMA busy_timeout=5")
                cur.close()

            @event.listens_for(in_loop.sync_engine, "begin")
            def _on_begin(conn: Any) -> None:
                mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
                conn.exec_driver_sql(f"BEGIN {mode}")

            # Used through the subset of AsyncEngine's API that InLoopEngine provides.
            return cast(AsyncEngine, in_loop)
        engine = create_async_engine(self.url, pool_size=pool_size, max_overflow=pool_size)

        @event.listens_for(engine.sync_engine, "checkout")
        def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            # A pooled connection the server closed (restart, idle timeout, terminated
            # backend) is replaced before use. asyncpg learns of the close from its socket,
            # so this costs no round trip, where pool_pre_ping costs three (BEGIN, ping,
            # ROLLBACK) on every checkout.
            raw = getattr(dbapi_conn, "driver_connection", None)
            if raw is None or raw.is_closed():
                raise exc.DisconnectionError("the server closed this pooled connection")

        return engine

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

    # -- batches --------------------------------------------------------------

    def rows_table(
        self,
        name: str,
        columns: Sequence[tuple[str, TypeEngine[Any]]],
        param: str = "rows",
        *,
        shared: bool = False,
    ) -> Subquery | CTE:
        """A derived table of ``columns`` whose rows come from the parameters ``param``.

        Bind :meth:`rows_param` of the rows. JSON columns come out as what the
        column stores (``jsonb`` on PostgreSQL, JSON text on SQLite). A statement
        joining it to a table should also bound the table's key with :func:`among`:
        the planner knows nothing of the derived table's size. ``shared``: the
        statement uses it in several places, so on PostgreSQL it is a CTE, its
        arrays unnested once (SQLite's statements that use it run one by one).
        """
        if self.is_sqlite:
            each = sa.func.json_each(sa.bindparam(param, type_=sa.Text)).table_valued("value")
            return (
                sa.select(
                    *(
                        sa.func.json_extract(each.c.value, f"$[{i}]").label(column)
                        for i, (column, _) in enumerate(columns)
                    )
                )
                .select_from(each)
                .subquery(name)
            )
        # One typed array per column: the driver encodes them in binary, where a JSON
        # document of the rows cost more to write and to parse than the rest of the
        # statement.
        arrays = [
            sa.bindparam(
                f"{param}__{column}", type_=ARRAY(sa.Text if isinstance(type_, sa.JSON) else type_)
            )
            for column, type_ in columns
        ]
        raw = (
            sa.func.unnest(*arrays)
            .table_valued(*(column for column, _ in columns))
            .render_derived(name=f"{name}_raw")
        )
        rows = sa.select(
            *(
                sa.cast(raw.c[column], JSONB).label(column)
                if isinstance(type_, sa.JSON)
                else raw.c[column]
                for column, type_ in columns
            )
        )
        # Used by several parts of one statement: a CTE, unnested and planned once.
        return rows.cte(name) if shared else rows.subquery(name)

    def rows_param(
        self,
        columns: Sequence[tuple[str, TypeEngine[Any]]],
        rows: Sequence[Sequence[Any]],
        param: str = "rows",
    ) -> dict[str, Any]:
        """The parameters to bind for :meth:`rows_table` (of the same ``param``)."""
        is_json = [isinstance(type_, sa.JSON) for _, type_ in columns]
        if self.is_sqlite:
            # json_each over an array of arrays; JSON columns travel as their text
            return {
                param: json.dumps(
                    [
                        [json.dumps(v) if j else v for v, j in zip(row, is_json, strict=True)]
                        for row in rows
                    ]
                )
            }
        values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        return {
            f"{param}__{column}": (
                [None if v is None else json.dumps(v) for v in column_values]
                if j
                else list(column_values)
            )
            for (column, _), column_values, j in zip(columns, values, is_json, strict=True)
        }

    # -- transactions -------------------------------------------------------

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction. (A single hot statement on PostgreSQL needs none:
        :meth:`run_hot`.)"""
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
            except (exc.DBAPIError, OSError) as error:
                _raise_if_unavailable(error)
                raise
        for channel in notified:
            self._wake(channel)
        if self.is_sqlite:
            self._sqlite_commits += 1
            if self._sqlite_commits >= CHECKPOINT_EVERY:
                self._sqlite_commits = 0
                self._checkpoints.add(task := asyncio.create_task(self._checkpoint()))
                task.add_done_callback(self._checkpoints.discard)

    async def _checkpoint(self) -> None:
        """SQLite: checkpoint the WAL in a thread while this process's writers wait."""
        assert self._write_lock is not None
        async with self._write_lock:
            with contextlib.suppress(Exception):  # a failed round is caught up by the next
                await cast(InLoopEngine, self.engine).checkpoint()

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
        if not self.is_sqlite and self._listen:
            await conn.execute(_NOTIFY[channel])

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
        if self._checkpoints:
            await asyncio.gather(*self._checkpoints, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._driver is not None:
            await self._driver.close()
        await self.engine.dispose()

    async def ping(self) -> None:
        """Connect and run a query; any failure (refused, unknown role, no file) is
        :class:`StoreUnavailable` with the driver's own words."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except exc.DBAPIError as error:
            reason = str(error.orig) if error.orig is not None else str(error)
            raise StoreUnavailable(f"the database is unavailable: {reason}") from error
        except OSError as error:
            raise StoreUnavailable(f"the database is unavailable: {error}") from error

    async def autovacuum_on(self) -> bool:
        """Whether PostgreSQL vacuums on its own (SQLite has nothing to vacuum)."""
        if self.is_sqlite:
            return True
        async with self.read() as conn:
            setting = (await conn.execute(sa.text("SHOW autovacuum"))).scalar_one()
        return bool(setting == "on")
