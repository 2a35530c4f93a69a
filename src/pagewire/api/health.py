"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pagewire.errors import PagewireError
from pagewire.store import Store
from pagewire.store import tables as t
from pagewire.store.migrate import is_current

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable and migrations current")
async def readyz(request: Request) -> JSONResponse:
    store: Store = request.app.state.services.store
    try:
        await store.db.ping()
        current = await is_current(store.db)
    except (PagewireError, OSError) as error:
        return JSONResponse({"status": "unavailable", "database": str(error)}, 503)
    if not current:
        return JSONResponse({"status": "unavailable", "database": "migrations pending"}, 503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    services = request.app.state.services
    await services.queue_stats.refresh(services.store)
    return Response(generate_latest(services.registry), media_type=CONTENT_TYPE_LATEST)


class QueueStats(Collector):
    """Job counts by status and the age of the oldest pending job, read at scrape time."""

    def __init__(self) -> None:
        self.by_status: dict[str, int] = {}
        self.oldest_pending_age = 0.0

    async def refresh(self, store: Store) -> None:
        async with store.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(t.jobs.c.status, sa.func.count()).group_by(t.jobs.c.status)
                )
            ).all()
            oldest = (
                await conn.execute(
                    sa.select(store.db.now() - sa.func.min(t.jobs.c.created_at)).where(
                        t.jobs.c.status == "pending"
                    )
                )
            ).scalar()
        self.by_status = {status: count for status, count in rows}
        self.oldest_pending_age = float(oldest or 0.0)

    def collect(self):  # type: ignore[no-untyped-def]
        jobs = GaugeMetricFamily("pagewire_jobs", "Jobs by status", labels=["status"])
        for status, count in sorted(self.by_status.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "pagewire_oldest_pending_job_age_seconds",
            "Age of the oldest job waiting for a worker",
            value=self.oldest_pending_age,
        )


def new_registry() -> tuple[CollectorRegistry, QueueStats]:
    registry = CollectorRegistry()
    stats = QueueStats()
    registry.register(stats)
    return registry, stats
