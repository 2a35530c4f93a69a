"""The application factory: ``create_app(settings)`` builds everything, connects nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from pagewire import __version__
from pagewire.api import errors
from pagewire.api.batch import router as batch_router
from pagewire.api.body_limits import BodyLimits
from pagewire.api.edge_guard import EdgeGuard
from pagewire.api.health import router as health_router
from pagewire.api.jobs import router as jobs_router
from pagewire.api.ratelimit import RateLimiter
from pagewire.api.security_headers import SecurityHeaders
from pagewire.api.webhooks import router as webhooks_router
from pagewire.blobs import LocalBlobStore
from pagewire.dispatch.dispatcher import Dispatcher
from pagewire.dispatch.metrics import BacklogStats
from pagewire.portal.link import router as portal_link_router
from pagewire.portal.router import create_portal
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.store.migrate import upgrade
from pagewire.telemetry.queue_metrics import QueueStats, new_registry

log = logging.getLogger("pagewire")


@dataclass
class Services:
    settings: Settings
    store: Store
    blobs: LocalBlobStore
    registry: CollectorRegistry
    queue_stats: QueueStats
    # The webhook backlog read at scrape time, where no dispatcher runs in this process.
    backlog_stats: BacklogStats | None = None
    background: list[Any] = field(default_factory=list)


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    run_worker: bool = False,
    run_dispatcher: bool = False,
    migrate: bool = True,
    worker_options: dict[str, Any] | None = None,
) -> FastAPI:
    """The API; with ``run_worker``/``run_dispatcher`` also the background loops (embedded mode)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        own_store = store is None
        services_store = store or Store.from_settings(settings)
        if migrate:
            await upgrade(services_store.db)
        await services_store.db.start_listening()
        registry, stats = new_registry()
        services = Services(
            settings=settings,
            store=services_store,
            blobs=LocalBlobStore(settings.data_dir / "blobs"),
            registry=registry,
            queue_stats=stats,
        )
        app.state.services = services
        app.state.rate_limiter = RateLimiter(
            settings.rate_limit_per_second, settings.rate_limit_burst
        )
        if settings.allow_private_urls:
            log.warning(
                "PAGEWIRE_ALLOW_PRIVATE_URLS is on: webhooks and file_url may reach "
                "loopback and private addresses. Use this only for development."
            )
        tasks: list[asyncio.Task[None]] = []
        loops: list[Any] = []
        if run_worker:
            from pagewire.worker.loop import Worker

            worker = Worker(services.store, services.blobs, settings, **(worker_options or {}))
            loops.append(worker)
            tasks.append(asyncio.create_task(worker.run(), name="worker"))
        if run_dispatcher:
            dispatcher = Dispatcher.from_services(services)
            loops.append(dispatcher)
            tasks.append(asyncio.create_task(dispatcher.run(), name="dispatcher"))
        else:
            services.backlog_stats = BacklogStats()
            registry.register(services.backlog_stats)
        services.background = loops
        try:
            yield
        finally:
            for loop in loops:
                loop.stop()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            if own_store:
                await services_store.close()

    app = FastAPI(
        title="pagewire",
        version=__version__,
        summary="Asynchronous document extraction with signed webhooks",
        lifespan=lifespan,
    )
    errors.install(app)
    # Outermost last: the headers go on the edge's refusals too.
    app.add_middleware(EdgeGuard, limits=BodyLimits.from_settings(settings))
    app.add_middleware(SecurityHeaders)
    app.include_router(jobs_router)
    app.include_router(batch_router)
    app.include_router(webhooks_router)
    app.include_router(health_router)
    app.include_router(portal_link_router)
    app.mount("/portal", create_portal(app))
    return app
