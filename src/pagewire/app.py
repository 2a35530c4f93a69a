"""The application factory: ``create_app(settings)`` builds everything, connects nothing at import.

It mounts the API's routers and the portal; the services they share are opened
by :func:`pagewire.runtime.open_services` when the app starts (its lifespan) and
reach every route through :mod:`pagewire.api.deps`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from pagewire import __version__
from pagewire.api import deps, errors, openapi
from pagewire.api.batch import router as batch_router
from pagewire.api.body_limits import BodyLimits
from pagewire.api.edge_guard import EdgeGuard
from pagewire.api.health import router as health_router
from pagewire.api.jobs import router as jobs_router
from pagewire.api.security_headers import SecurityHeaders
from pagewire.api.webhooks import router as webhooks_router
from pagewire.portal.link import router as portal_link_router
from pagewire.portal.router import create_portal
from pagewire.runtime import BackgroundLoop, new_dispatcher, new_worker, open_services, running
from pagewire.settings import Settings
from pagewire.store import Store
from pagewire.telemetry.http import HttpMetrics, RequestTelemetry

log = logging.getLogger("pagewire")


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    run_worker: bool = False,
    run_dispatcher: bool = False,
    migrate: bool = True,
) -> FastAPI:
    """The API; with ``run_worker``/``run_dispatcher`` also the background loops (embedded mode).

    ``store``: use this one (its owner closes it) instead of opening one from the settings.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(
            settings,
            store=store,
            migrate="upgrade" if migrate else "skip",
            backlog_metrics=not run_dispatcher,
        ) as services:
            if settings.allow_private_urls:
                log.warning(
                    "PAGEWIRE_ALLOW_PRIVATE_URLS is on: webhooks and file_url may reach "
                    "loopback and private addresses. Use this only for development."
                )
            loops: list[BackgroundLoop] = []
            if run_worker:
                loops.append(new_worker(services))
            if run_dispatcher:
                loops.append(new_dispatcher(services, registry=services.registry))
            services.registry.register(http_metrics)
            deps.attach(app, services)
            async with running(services, loops):
                yield

    app = FastAPI(
        title="pagewire",
        version=__version__,
        summary="Asynchronous document extraction with signed webhooks",
        lifespan=lifespan,
        # Served from local assets by api/openapi.py: FastAPI's pages load a CDN.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=openapi.operation_id,
        openapi_tags=openapi.TAGS,
    )
    errors.install(app)
    openapi.install(app)
    # Outermost last: the headers go on the edge's refusals too.
    app.add_middleware(EdgeGuard, limits=BodyLimits.from_settings(settings))
    app.add_middleware(SecurityHeaders)
    http_metrics = HttpMetrics()
    app.add_middleware(RequestTelemetry, metrics=http_metrics, access_log=settings.access_log)
    app.include_router(jobs_router)
    app.include_router(batch_router)
    app.include_router(webhooks_router)
    app.include_router(health_router)
    app.include_router(portal_link_router)
    app.mount("/portal", create_portal(app))
    return app
