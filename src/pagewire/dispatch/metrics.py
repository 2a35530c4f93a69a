"""The dispatcher's Prometheus metrics, registered in the app's own registry."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pagewire.models import Backlog
from pagewire.store import Store

# Loopback receivers answer in about a millisecond; real ones up to the 15 s timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30)


DUE = "pagewire_webhook_due_deliveries"
DUE_HELP = "Deliveries due now and not yet claimed by a dispatcher"
OLDEST = "pagewire_webhook_oldest_pending_delivery_age_seconds"
OLDEST_HELP = "Age of the oldest delivery not yet delivered or given up"


class DispatchMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "pagewire_webhook_attempts",
            "Delivery attempts by outcome: succeeded, retry, failed (gave up), disable (410)",
            ["outcome"],
            registry=registry,
        )
        self.latency = Histogram(
            "pagewire_webhook_attempt_seconds",
            "Time from sending a webhook to the receiver's answer (or the error)",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.due = Gauge(DUE, DUE_HELP, registry=registry)
        self.oldest_pending_age = Gauge(OLDEST, OLDEST_HELP, registry=registry)
        self.in_flight = Gauge(
            "pagewire_webhook_in_flight",
            "Deliveries this dispatcher holds (claimed, not yet answered)",
            registry=registry,
        )
        for outcome in ("succeeded", "retry", "failed", "disable"):
            self.attempts.labels(outcome)

    def observe_backlog(self, backlog: Backlog) -> None:
        self.due.set(backlog.due)
        self.oldest_pending_age.set(backlog.oldest_pending_age)


class BacklogStats(Collector):
    """The backlog gauges read from the database at scrape time, for an API node that
    runs no dispatcher (``pagewire serve --no-dispatch``): the backlog is the whole
    database's, so any node can tell it."""

    def __init__(self) -> None:
        self.backlog = Backlog(0, 0.0)

    async def refresh(self, store: Store) -> None:
        self.backlog = await store.deliveries.backlog()

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(DUE, DUE_HELP, value=self.backlog.due)
        yield GaugeMetricFamily(OLDEST, OLDEST_HELP, value=self.backlog.oldest_pending_age)
