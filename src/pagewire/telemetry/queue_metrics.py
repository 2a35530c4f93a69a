"""The job queue's Prometheus metrics, read from the database at scrape time.

Shared by the API's ``/metrics`` and a scale-out worker's (:mod:`pagewire.telemetry.metrics_server`).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pagewire.models import JobCounts
from pagewire.store import Store


class QueueStats(Collector):
    """Job counts by status and the age of the oldest pending job, read at scrape time."""

    def __init__(self) -> None:
        self.counts = JobCounts({}, 0.0)

    async def refresh(self, store: Store) -> None:
        self.counts = await store.stats.queue()

    def collect(self) -> Iterator[Metric]:
        jobs = GaugeMetricFamily(
            "pagewire_jobs",
            "Jobs by status, as submitted (a split job's shards are not counted)",
            labels=["status"],
        )
        for status, count in sorted(self.counts.by_status.items()):
            jobs.add_metric([status], count)
        yield jobs
        yield GaugeMetricFamily(
            "pagewire_oldest_pending_job_age_seconds",
            "Age of the oldest job, or split job's shard, waiting for a worker",
            value=self.counts.oldest_pending_age,
        )


def new_registry() -> tuple[CollectorRegistry, QueueStats]:
    registry = CollectorRegistry()
    stats = QueueStats()
    registry.register(stats)
    return registry, stats
