"""The job queue's Prometheus metrics, read from the database at scrape time.

Shared by the API's ``/metrics`` and a scale-out worker's (:mod:`pagewire.telemetry.metrics_server`).
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from pagewire.store import Store
from pagewire.store import tables as t


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
