"""A process's Prometheus registry: the standard process metrics, no noise series.

Every process (the API, a scale-out worker or dispatcher) starts from this one;
the queue gauges, the worker's and the dispatcher's metrics and the API's HTTP
series are added to it by their owners.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

# Counters and histograms would each add a ``*_created`` series holding their start
# time: noise to store and to read, since Prometheus's own functions handle resets.
disable_created_metrics()  # type: ignore[no-untyped-call]


def process_registry() -> CollectorRegistry:
    """A new registry with ``process_*`` (CPU, memory, open files; Linux) and
    ``python_info``."""
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    return registry
