"""The dispatcher's Prometheus metrics, registered in the app's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from pagewire.store.deliveries import Backlog

# Loopback receivers answer in about a millisecond; real ones up to the 15 s timeout.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30)


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
        self.due = Gauge(
            "pagewire_webhook_due_deliveries",
            "Deliveries due now and not yet claimed by a dispatcher",
            registry=registry,
        )
        self.oldest_pending_age = Gauge(
            "pagewire_webhook_oldest_pending_delivery_age_seconds",
            "Age of the oldest delivery not yet delivered or given up",
            registry=registry,
        )
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
