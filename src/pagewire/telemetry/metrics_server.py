"""``/metrics`` and ``/healthz`` for the processes that have no API of their own.

``pagewire dispatch`` and ``pagewire worker`` run without an HTTP server; with
``--metrics-port`` (``PAGEWIRE_METRICS_PORT``) each serves its own Prometheus
registry on a small aiohttp server inside its event loop, so a scale-out
deployment can watch every dispatcher's deliveries and every worker's queue.
It listens on 127.0.0.1 unless ``PAGEWIRE_METRICS_HOST`` says otherwise: the
metrics carry no secrets, but they are not the public's business either.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from pagewire.errors import PagewireError

log = logging.getLogger("pagewire.metrics")


@contextlib.asynccontextmanager
async def serve_metrics(
    registry: CollectorRegistry,
    host: str,
    port: int,
    refresh: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[int]:
    """Serve ``registry`` until the block ends; yields the port (``port=0``: any free one).

    ``refresh`` runs before each scrape (gauges read from the database); if the
    database is unreachable the scrape still answers, with the last values.
    """

    async def metrics(request: web.Request) -> web.Response:
        if refresh is not None:
            try:
                await refresh()
            except (PagewireError, OSError) as error:
                log.warning("metrics refresh failed", extra={"fields": {"error": str(error)}})
        return web.Response(
            body=generate_latest(registry), headers={"content-type": CONTENT_TYPE_LATEST}
        )

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        log.info("metrics served", extra={"fields": {"url": f"http://{host}:{bound}/metrics"}})
        yield bound
    finally:
        await runner.cleanup()
