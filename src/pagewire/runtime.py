"""The composition root: one typed :class:`Services`, built in one place by :func:`open_services`.

What it builds: the data directory, the :class:`~pagewire.store.Store` (or takes
one it is given), the schema step (apply migrations, require them current, or
leave the schema alone), LISTEN/NOTIFY, the blob store, the Prometheus registry
with the gauges read from the database at scrape time, the API's rate limiter;
and, on request, the background loops (:func:`new_worker`,
:func:`new_dispatcher`, run by :func:`running`). It closes what it opened, and
only that: a store passed in stays open.

Who uses it: ``app.py``'s lifespan (the API and portal, and ``pagewire serve``'s
embedded worker and dispatcher), every CLI command that needs the database
(``worker``, ``dispatch``, ``migrate``, ``keys``, and the demo's key), and the
tests' fixtures. Routes and portal pages reach the Services through
:mod:`pagewire.api.deps`, never through the application's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from prometheus_client import CollectorRegistry

from pagewire.blobs import BlobStore, open_blob_store
from pagewire.security.data_dir import private_data_dir
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.store.dialect import dialect_for
from pagewire.store.migrate import is_behind, is_current, upgrade
from pagewire.telemetry import traces
from pagewire.telemetry.job_metrics import JobMetrics
from pagewire.telemetry.queue_metrics import QueueStats
from pagewire.telemetry.registry import process_registry

if TYPE_CHECKING:  # imported where built: ``migrate`` and ``keys`` need no loop
    from pagewire.dispatch.dispatcher import Dispatcher
    from pagewire.dispatch.metrics import BacklogStats
    from pagewire.worker.loop import Worker

# What to do with the schema on opening: apply pending migrations; refuse to start
# unless it is current (the scale-out worker and dispatcher, which never migrate);
# or leave it alone (a store its owner has migrated already).
Migrate = Literal["upgrade", "require_current", "skip"]


class SchemaNotCurrent(Exception):
    """The database's schema is not the one this pagewire expects (``pagewire migrate``)."""

    def __init__(self) -> None:
        super().__init__("the database schema is not current: run `pagewire migrate`")


class BackgroundLoop(Protocol):
    """A loop that runs until stopped and then drains: the Worker and the Dispatcher."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Services:
    """What a process's parts share: built by :func:`open_services`, never by hand."""

    settings: Settings
    store: Store
    registry: CollectorRegistry
    # The job queue's gauges (every process but a scale-out dispatcher reports them).
    queue_stats: QueueStats | None = None
    # The webhook backlog read at scrape time, where no dispatcher runs in this process.
    backlog_stats: BacklogStats | None = None
    background: list[BackgroundLoop] = field(default_factory=list)

    @functools.cached_property
    def blobs(self) -> BlobStore:
        """Uploads and large results (``PAGEWIRE_BLOB_URL``), made on first use: only the
        API and the worker store files, and the default store creates its directory."""
        return open_blob_store(self.settings)

    @functools.cached_property
    def job_metrics(self) -> JobMetrics:
        """The workers' metrics in this process's registry, made with the first worker."""
        return JobMetrics(self.registry)

    @functools.cached_property
    def signing_key(self) -> bytes:
        """The key of the portal's links, sessions and forms, read once on first use
        (it may create the data directory's key file)."""
        return self.settings.signing_key()

    async def refresh_metrics(self) -> None:
        """Read the gauges that come from the database, before a scrape."""
        if self.queue_stats is not None:
            await self.queue_stats.refresh(self.store)
        if self.backlog_stats is not None:
            await self.backlog_stats.refresh(self.store)


@contextlib.asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    store: Store | None = None,
    clock: Callable[[], float] | None = None,
    migrate: Migrate = "upgrade",
    listen: bool = True,
    queue_metrics: bool = True,
    backlog_metrics: bool = False,
) -> AsyncIterator[Services]:
    """The services of one process, open until the block ends.

    ``store``: use this one (and leave it open) instead of opening one from the
    settings (with ``clock``, a test's). ``migrate="require_current"`` raises
    :class:`~pagewire.errors.StoreUnavailable` when the database cannot be reached
    and :class:`SchemaNotCurrent` when it is behind, and opening creates nothing,
    not even the data directory. ``listen``: LISTEN for wake-ups (a long-lived process).
    ``queue_metrics``/``backlog_metrics``: which gauges the registry reports.
    """
    traces.configure(settings)  # once per process; nothing unless asked
    if migrate != "require_current":
        url = settings.resolved_database_url
        private_data_dir(settings, dialect_for(url).database_file(url))
    own_store = store is None
    opened = store or Store.from_settings(settings, clock=clock)
    try:
        if migrate == "upgrade":
            await opened.db.ping()  # unreachable: StoreUnavailable in words, not the driver's
            await upgrade(opened.db)
        elif migrate == "require_current":
            await opened.db.ping()
            if await is_behind(opened.db):  # ahead (a later release's) is fine: rolling
                raise SchemaNotCurrent()
        # Secrets at rest: a wrong or missing key stops the start here (EncryptionKeyError).
        # The check reads a table of the schema: a node started before `pagewire migrate`
        # (migrate="skip", /readyz says so) opens its keys on first use instead.
        if migrate != "skip" or await is_current(opened.db):
            await opened.at_rest.verify(may_create_key=migrate != "require_current")
        if migrate == "upgrade":
            await opened.at_rest.seal_legacy()
        if listen:
            await opened.db.start_listening()
        registry = process_registry()
        backlog_stats = None
        if backlog_metrics:
            from pagewire.dispatch.metrics import BacklogStats

            backlog_stats = BacklogStats()
        services = Services(
            settings=settings,
            store=opened,
            registry=registry,
            queue_stats=QueueStats() if queue_metrics else None,
            backlog_stats=backlog_stats,
        )
        for collector in (services.queue_stats, services.backlog_stats):
            if collector is not None:
                registry.register(collector)
        try:
            yield services
        finally:
            if "blobs" in services.__dict__:  # made on first use (the cached property)
                await services.blobs.close()
    finally:
        if own_store:
            await opened.close()


async def check_blob_store(settings: Settings) -> None:
    """The start-up check of ``pagewire serve`` and ``pagewire worker``: the blob store
    exists and takes a write, or :class:`~pagewire.errors.BlobStoreUnavailable` naming
    the setting to fix. Run before the process starts serving or claiming, so that a
    missing bucket stops it at once instead of failing every upload and job."""
    blobs = open_blob_store(settings)
    try:
        await blobs.check()
    finally:
        await blobs.close()


def new_worker(services: Services, *, concurrency: int | None = None) -> Worker:
    """The job loop (``concurrency`` defaults to the settings')."""
    from pagewire.worker.loop import Worker

    return Worker(
        services.store,
        services.blobs,
        services.settings,
        concurrency=concurrency,
        metrics=services.job_metrics,
    )


def new_dispatcher(
    services: Services, *, registry: CollectorRegistry | None, concurrency: int | None = None
) -> Dispatcher:
    """The webhook loop, reporting to ``registry`` (None: no metrics kept)."""
    from pagewire.dispatch.dispatcher import Dispatcher

    return Dispatcher(services.store, services.settings, registry=registry, concurrency=concurrency)


@contextlib.asynccontextmanager
async def running(services: Services, loops: Sequence[BackgroundLoop]) -> AsyncIterator[None]:
    """Run ``loops`` as tasks of this event loop until the block ends, then stop them and
    wait for each to drain. Their errors are not raised here: stopping must reach every
    loop, and the store closes after them."""
    services.background = list(loops)
    tasks = [asyncio.create_task(loop.run(), name=type(loop).__name__.lower()) for loop in loops]
    try:
        yield
    finally:
        for loop in loops:
            loop.stop()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
