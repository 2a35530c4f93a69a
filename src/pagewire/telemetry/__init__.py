"""Logs and metrics: structured log lines, Prometheus collectors, the metrics server."""
