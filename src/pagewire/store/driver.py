"""Hot statements on PostgreSQL: SQLAlchemy compiles them once, asyncpg runs them.

The dispatcher runs two statements for every batch of deliveries (the claim and
the record of attempts), over a hundred times a second under load, and its CPU is
what bounds how many webhooks a second it sends. Run through SQLAlchemy's
``AsyncConnection``, most of a one-row statement's CPU is the layers around the
driver (pool checkout, execution context, result wrapping, the greenlet switch);
on an asyncpg connection kept for the purpose, the same prepared statement costs
little more than the driver's own work. Everything else keeps using SQLAlchemy:
this is for a statement that is built once and runs all the time.

A statement runs alone, outside any transaction (atomic by itself). Losing the
connection, or a server that refuses it, is :class:`StoreUnavailable`, as in
``Database.write``; the broken connection is dropped and the next call opens
another. No error leaves here quoting a row's values (:func:`hide_values`).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from pagewire.errors import StoreUnavailable

# Errors after which the database may answer again: the connection went away, the
# server is shutting down or out of resources, or the statement lost a deadlock.
# InternalClientError ("cannot switch to state ...") is a connection the server
# ended while it sat idle, used before asyncpg noticed: the connection is done for.
_UNAVAILABLE = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.TransactionRollbackError,
)


def connection_failed(error: BaseException) -> bool:
    """Whether ``error``, or one it was raised from, is the driver saying the
    connection failed rather than the statement (SQLAlchemy wraps such errors, and
    marks them as a disconnect only when the socket already said so)."""
    return any(isinstance(e, _UNAVAILABLE) for e in _chain(error))


def hide_values(error: BaseException) -> None:
    """Drop PostgreSQL's DETAIL from ``error`` and the errors it was raised from.

    The server's DETAIL quotes the values of the row at fault ("Failing row
    contains (...)", "Key (id)=(...) already exists"), and asyncpg puts it in the
    error's text: a traceback in the log would then show an endpoint's secret or a
    customer's header value. The message and the SQLSTATE say what went wrong.
    """
    for current in _chain(error):
        if isinstance(current, asyncpg.PostgresError):
            current.detail = None


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and the errors it was raised from, or raised while handling."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not e for e in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


class HotStatement:
    """One statement compiled for PostgreSQL: its SQL and how to order its parameters."""

    __slots__ = ("_compiled", "_processors", "names", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.literal_execute_params or compiled.post_compile_params:
            # Their SQL is only known per execution: use an array and = ANY instead.
            raise ValueError("a hot statement cannot have expanding (IN-list) parameters")
        self._compiled = compiled
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # What SQLAlchemy would do to each value on the way to the driver.
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
        self._processors = processors

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The positional arguments for ``params``; the statement's literals and
        callable parameters (an injected clock) are filled in as SQLAlchemy would."""
        values = self._compiled.construct_params(params)
        assert values is not None
        processors = self._processors
        arguments = []
        for name in self.names:
            value = values[name]
            processor = processors.get(name)
            arguments.append(value if processor is None or value is None else processor(value))
        return arguments


class DriverConnections:
    """asyncpg connections kept for hot statements, opened when first needed: one
    for each caller at a time (the dispatcher's claim and record loops: two)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._dialect = engine.sync_engine.dialect
        _, options = self._dialect.create_connect_args(engine.url)
        # The URL's options for SQLAlchemy's dialect, not for asyncpg; a cache of 0
        # (behind a pooler in transaction mode) means no named statements here either.
        options.pop("prepared_statement_name_func", None)
        cache = options.pop("prepared_statement_cache_size", None)
        if cache is not None:
            options["statement_cache_size"] = int(cache)
        self._options = options
        self._idle: deque[asyncpg.Connection] = deque()
        self._closed = False

    def compile(self, statement: ClauseElement) -> HotStatement:
        return HotStatement(statement, self._dialect)

    async def fetch(self, statement: HotStatement, params: Mapping[str, Any]) -> Sequence[Any]:
        """Run ``statement`` alone; its rows (asyncpg records, read by position)."""
        arguments = statement.arguments(params)
        if self._closed:
            raise StoreUnavailable("the database connection is closed")
        try:
            connection = self._idle_connection() or await asyncpg.connect(**self._options)
        except (*_UNAVAILABLE, asyncpg.PostgresError) as error:
            hide_values(error)
            raise StoreUnavailable(f"the database is unavailable: {error}") from error
        try:
            rows: list[Any] = await connection.fetch(statement.sql, *arguments)
        except _UNAVAILABLE as error:
            connection.terminate()
            hide_values(error)
            raise StoreUnavailable(f"the database is unavailable: {error}") from error
        except asyncpg.PostgresError as error:
            self._give_back(connection)  # the statement failed, the connection is fine
            hide_values(error)
            raise
        except BaseException:
            # Cancelled mid-statement (or a surprise): the connection's state is unknown.
            connection.terminate()
            raise
        self._give_back(connection)
        return rows

    def _idle_connection(self) -> asyncpg.Connection | None:
        while self._idle:
            connection = self._idle.pop()
            # The server may have closed it meanwhile (restart, idle timeout): asyncpg
            # knows from its socket, so this costs no round trip.
            if not connection.is_closed():
                return connection
        return None

    def _give_back(self, connection: asyncpg.Connection) -> None:
        if self._closed or connection.is_closed():
            connection.terminate()
        else:
            self._idle.append(connection)

    async def close(self) -> None:
        self._closed = True
        while self._idle:
            connection = self._idle.pop()
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)
