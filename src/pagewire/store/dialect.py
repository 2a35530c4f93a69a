"""Every difference between SQLite and PostgreSQL: one class per backend.

:class:`~pagewire.store.db.Database` holds one, chosen from the URL
(:func:`dialect_for`); the store's modules ask it, never the URL. What differs:

* The engine and its connections: SQLite runs on the event loop's thread
  (``sqlite_inloop``) with WAL and short busy waits; PostgreSQL goes through asyncpg,
  replacing a pooled connection the server closed before it is used.
* Writers: SQLite has one at a time, so this process's writers queue on an
  in-process lock and begin with ``BEGIN IMMEDIATE``, and every ``CHECKPOINT_EVERY``
  commits the WAL is checkpointed in a thread. PostgreSQL's writers run side by side.
* The clock (:class:`db_now`; hours: :class:`epoch_hour`): ``clock_timestamp()`` or ``julianday``.
* Lists and batches as one parameter: :meth:`Dialect.among` and
  :meth:`Dialect.rows_table` (typed arrays on PostgreSQL, JSON on SQLite), so a
  statement is compiled and prepared once whatever the length.
* What a statement can do: PostgreSQL writes inside a ``WITH`` (``writes_in_ctes``),
  so writes that belong together go in one round trip, and runs the dispatcher's
  statements on the driver (``hot_statements``, ``driver.py``).
* Wake-ups between processes: ``LISTEN``/``NOTIFY`` on PostgreSQL only.
* Housekeeping: whether PostgreSQL's autovacuum is on (SQLite has nothing to vacuum).
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, ClassVar, cast

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import CTE, ColumnElement, FunctionElement, Subquery
from sqlalchemy.types import TypeEngine

from pagewire.store.sqlite_inloop import CHECKPOINT_EVERY, InLoopEngine

log = logging.getLogger(__name__)

Columns = Sequence[tuple[str, TypeEngine[Any]]]
# Opens a read transaction (Database.read).
Reader = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


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


class epoch_hour(FunctionElement[int]):
    """Whole hours since 1970: PostgreSQL's cast rounds, SQLite's truncates (floor() optional)."""

    type = sa.BigInteger()
    inherit_cache = True


@compiles(epoch_hour, "postgresql")
def _pg_epoch_hour(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST(floor({compiler.process(element.clauses, **kw)} / 3600.0) AS BIGINT)"


@compiles(epoch_hour, "sqlite")
def _sqlite_epoch_hour(element: Any, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} / 3600.0 AS INTEGER)"


class Dialect(abc.ABC):
    """What the store needs to know of its backend. One instance per ``Database``."""

    name: ClassVar[str]  # SQLAlchemy's name for it: "sqlite", "postgresql"
    # A statement may INSERT or UPDATE inside its WITH clause: writes that depend on
    # each other go in one statement (one round trip) instead of one each.
    writes_in_ctes: ClassVar[bool]
    # The dispatcher's statements run on the driver, compiled once (driver.py).
    hot_statements: ClassVar[bool]
    # Another process can be woken (LISTEN/NOTIFY); without it, wake-ups stay in-process.
    listens: ClassVar[bool]
    # The database is a file in one machine's data directory (the embedded default), so
    # what every process must share (an encryption key) may be kept beside it.
    embedded: ClassVar[bool]

    def database_file(self, url: str) -> Path | None:
        """The file that holds the database, if it is one (to create it private)."""
        return None

    @abc.abstractmethod
    async def scrub_log(self, engine: AsyncEngine) -> None:
        """Drop the log's copies of rows just rewritten (after secrets were resealed)."""

    @abc.abstractmethod
    async def secure_delete(self, conn: AsyncConnection) -> None:
        """Have this connection overwrite what its writes free, not only unlink it."""

    @abc.abstractmethod
    def create_engine(self, url: str, pool_size: int) -> AsyncEngine: ...

    # -- statements -----------------------------------------------------------

    @abc.abstractmethod
    def among(self, column: ColumnElement[str], param: str = "ids") -> ColumnElement[bool]:
        """``column`` is one of the values of the list parameter ``param``."""

    @abc.abstractmethod
    def rows_table(
        self, name: str, columns: Columns, param: str = "rows", *, shared: bool = False
    ) -> Subquery | CTE:
        """A derived table of ``columns`` whose rows come from the parameters ``param``.

        Bind :meth:`rows_param` of the rows. JSON columns come out as what the
        column stores (``jsonb`` on PostgreSQL, JSON text on SQLite). A statement
        joining it to a table should also bound the table's key with :meth:`among`:
        the planner knows nothing of the derived table's size. ``shared``: the
        statement uses it in several places, so on PostgreSQL it is a CTE, its
        arrays unnested once (SQLite's statements that use it run one by one).
        """

    @abc.abstractmethod
    def rows_param(
        self, columns: Columns, rows: Sequence[Sequence[Any]], param: str = "rows"
    ) -> dict[str, Any]:
        """The parameters to bind for :meth:`rows_table` (of the same ``param``)."""

    # -- writes and wake-ups ----------------------------------------------------

    @abc.abstractmethod
    def writers(self) -> AbstractAsyncContextManager[Any]:
        """Held around each write transaction of this process."""

    @abc.abstractmethod
    async def begin_write(self, conn: AsyncConnection) -> AsyncConnection:
        """The connection set up for a write transaction (before it begins)."""

    @abc.abstractmethod
    def committed(self) -> None:
        """Called after each write transaction commits."""

    @abc.abstractmethod
    async def notify(self, conn: AsyncConnection, channel: str) -> None:
        """Wake listeners in other processes when this transaction commits."""

    @abc.abstractmethod
    async def listen(
        self, engine: AsyncEngine, channels: Sequence[str], callback: Callable[..., None]
    ) -> Any:
        """A connection that calls ``callback`` at each notification (closed with
        ``close()``), or None: then wake-ups reach only this process."""

    # -- housekeeping -----------------------------------------------------------

    @abc.abstractmethod
    async def autovacuum_on(self, read: Reader) -> bool:
        """Whether the database cleans up dead rows on its own."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish what the dialect runs in the background."""


class SqliteDialect(Dialect):
    name = "sqlite"
    writes_in_ctes = False
    hot_statements = False
    listens = False
    embedded = True

    def database_file(self, url: str) -> Path | None:
        location = url.partition(":///")[2].split("?", 1)[0]
        return Path(location) if location and location != ":memory:" else None

    async def scrub_log(self, engine: AsyncEngine) -> None:
        # The WAL's older frames still hold the replaced values. Best effort: a reader
        # that keeps it busy leaves it for the next checkpoint.
        path = engine.url.database
        if not path or path == ":memory:":
            return

        def truncate() -> None:
            with contextlib.closing(sqlite3.connect(path, timeout=1)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

        with contextlib.suppress(sqlite3.Error):
            await asyncio.to_thread(truncate)

    async def secure_delete(self, conn: AsyncConnection) -> None:
        # Zero the space a replaced value leaves in its page, so it does not linger.
        await conn.exec_driver_sql("PRAGMA secure_delete=ON")

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._engine: InLoopEngine | None = None
        self._commits = 0
        self._checkpoints: set[asyncio.Task[None]] = set()

    def create_engine(self, url: str, pool_size: int) -> AsyncEngine:
        # Statements run on the event loop's thread (see sqlite_inloop); the
        # connections never leave it, but the pool may close one from the GC.
        in_loop = InLoopEngine(
            url,
            connect_args={"check_same_thread": False},
            # A pool that made a caller wait would block the event loop: any number
            # of connections may be open (five are kept).
            pool_size=5,
            max_overflow=-1,
            hide_parameters=True,  # error text would carry secrets and header values
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

        self._engine = in_loop
        # Used through the subset of AsyncEngine's API that InLoopEngine provides.
        return cast(AsyncEngine, in_loop)

    def among(self, column: ColumnElement[str], param: str = "ids") -> ColumnElement[bool]:
        return column.in_(sa.bindparam(param, expanding=True))

    def rows_table(
        self, name: str, columns: Columns, param: str = "rows", *, shared: bool = False
    ) -> Subquery | CTE:
        # json_each over one JSON array of arrays, a row each
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

    def rows_param(
        self, columns: Columns, rows: Sequence[Sequence[Any]], param: str = "rows"
    ) -> dict[str, Any]:
        is_json = [isinstance(type_, sa.JSON) for _, type_ in columns]
        # JSON columns travel as their text
        return {
            param: json.dumps(
                [
                    [json.dumps(v) if j else v for v, j in zip(row, is_json, strict=True)]
                    for row in rows
                ]
            )
        }

    def writers(self) -> AbstractAsyncContextManager[Any]:
        # One writer at a time: this process's writers queue here, in asyncio,
        # never spinning on SQLITE_BUSY inside SQLite (on the event loop's thread).
        return self._lock

    async def begin_write(self, conn: AsyncConnection) -> AsyncConnection:
        return await conn.execution_options(sqlite_begin="IMMEDIATE")

    def committed(self) -> None:
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY:
            self._commits = 0
            self._checkpoints.add(task := asyncio.create_task(self._checkpoint()))
            task.add_done_callback(self._checkpoints.discard)

    async def _checkpoint(self) -> None:
        """Checkpoint the WAL in a thread while this process's writers wait."""
        assert self._engine is not None
        async with self._lock:
            with contextlib.suppress(Exception):  # a failed round is caught up by the next
                await self._engine.checkpoint()

    async def notify(self, conn: AsyncConnection, channel: str) -> None:
        pass  # no other process listens: the wake-up is in-process (Database.notify)

    async def listen(
        self, engine: AsyncEngine, channels: Sequence[str], callback: Callable[..., None]
    ) -> Any:
        return None

    async def autovacuum_on(self, read: Reader) -> bool:
        return True  # rows change in place: nothing to vacuum

    async def close(self) -> None:
        if self._checkpoints:
            await asyncio.gather(*self._checkpoints, return_exceptions=True)


@functools.cache
def _notify(channel: str) -> sa.Select[Any]:
    return sa.select(sa.func.pg_notify(channel, ""))


class PostgresDialect(Dialect):
    name = "postgresql"
    writes_in_ctes = True
    hot_statements = True
    listens = True
    embedded = False

    async def scrub_log(self, engine: AsyncEngine) -> None:
        pass  # the server recycles its WAL itself; nothing of it lies in our data dir

    async def secure_delete(self, conn: AsyncConnection) -> None:
        pass  # a rewritten row's old version goes with VACUUM, out of our hands here

    def create_engine(self, url: str, pool_size: int) -> AsyncEngine:
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            hide_parameters=True,  # error text would carry secrets and header values
        )

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

    def among(self, column: ColumnElement[str], param: str = "ids") -> ColumnElement[bool]:
        # = ANY($1): one prepared statement whatever the list's length (an IN list of
        # n values is a new statement to parse and plan for every n), and a
        # primary-key probe per value even for a planner without statistics, where a
        # join to a derived table alone gets a hash join over the whole table.
        return column == sa.any_(sa.bindparam(param, type_=ARRAY(sa.String)))

    def rows_table(
        self, name: str, columns: Columns, param: str = "rows", *, shared: bool = False
    ) -> Subquery | CTE:
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
        self, columns: Columns, rows: Sequence[Sequence[Any]], param: str = "rows"
    ) -> dict[str, Any]:
        is_json = [isinstance(type_, sa.JSON) for _, type_ in columns]
        values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
        return {
            f"{param}__{column}": (
                [None if v is None else json.dumps(v) for v in column_values]
                if j
                else list(column_values)
            )
            for (column, _), column_values, j in zip(columns, values, is_json, strict=True)
        }

    def writers(self) -> AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext()  # writers run side by side, locking rows

    async def begin_write(self, conn: AsyncConnection) -> AsyncConnection:
        return conn

    def committed(self) -> None:
        pass

    async def notify(self, conn: AsyncConnection, channel: str) -> None:
        await conn.execute(_notify(channel))

    async def listen(
        self, engine: AsyncEngine, channels: Sequence[str], callback: Callable[..., None]
    ) -> Any:
        """LISTEN on a connection of its own; None when that fails (behind a pooler in
        transaction mode), and the caller polls."""
        try:
            import asyncpg

            dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            listener = await asyncpg.connect(dsn)
            for channel in channels:
                await listener.add_listener(channel, callback)
        except Exception as error:
            log.warning("LISTEN unavailable, polling only", extra={"error": str(error)})
            return None
        return listener

    async def autovacuum_on(self, read: Reader) -> bool:
        async with read() as conn:
            setting = (await conn.execute(sa.text("SHOW autovacuum"))).scalar_one()
        return bool(setting == "on")

    async def close(self) -> None:
        pass


def dialect_for(url: str) -> Dialect:
    """The dialect of a SQLAlchemy URL (``sqlite:...`` or ``postgresql+asyncpg:...``)."""
    return SqliteDialect() if url.startswith("sqlite") else PostgresDialect()
