"""Each HTTP request's id, its access log line and its Prometheus series.

* ``x-request-id``: the caller's own, echoed when it is sane (1 to 128 characters of
  letters, digits and ``-_.:``), else a new ``req_...``. It is on every response,
  in every log line written while the request is handled
  (:data:`pagewire.telemetry.logs.request_id`) and in every error body.
* One access log line per request (logger ``pagewire.access``): method, route
  template, status, duration, organization, request id. Never the raw path or
  query (a portal link carries its token), a key, or a body.
* ``pagewire_http_requests_total`` and ``pagewire_http_request_duration_seconds``
  by route template, never by raw path: one series per route, not per job id.

A pure ASGI middleware (``BaseHTTPMiddleware`` would put each request through a
second task and a stream); installed outermost, so the edge's refusals are counted
too. When the app raises, the id stays set for the handler of last resort outside
this middleware (the context variable belongs to the request's task), which puts it
in the 500's body and header.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pagewire.ids import new_id
from pagewire.telemetry.logs import request_id

log = logging.getLogger("pagewire.access")

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")
# What a request that matched no route is counted under: a scan of random paths
# must not make a series per path.
UNMATCHED = "unmatched"
# Likewise a method is the client's to spell: any other is counted as "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# API calls answer in milliseconds; a synchronous extract may wait up to its limit.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class HttpMetrics(Collector):
    """The API's request counter and latency histogram, in a registry of their own that
    the process's registry reports (the app is built before its services exist)."""

    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        self.requests = Counter(
            "pagewire_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self._registry,
        )
        self.duration = Histogram(
            "pagewire_http_request_duration_seconds",
            "Time from a request's arrival to its response's last byte, by method and route",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self._registry,
        )

        # Each (method, route, status)'s children, looked up once: labels() takes a lock.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def collect(self) -> Iterator[Metric]:
        yield from self._registry.collect()


def incoming_id(scope: Scope) -> str:
    """The caller's ``x-request-id`` if it is sane, else a new one."""
    for name, value in scope["headers"]:
        if name == HEADER:
            if _SANE.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return new_id("req")


def route_template(scope: Scope, root_path: str) -> str:
    """The matched route's path template (``/job/{job_id}``), its mount's prefix included."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    mount: str = scope.get("root_path", "")[len(root_path) :]  # "/portal" inside the portal
    return mount + template


class RequestTelemetry:
    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = incoming_id(scope)
        encoded = rid.encode("ascii")
        root_path = scope.get("root_path", "")
        status = 500  # what the server answers if the app raises before it starts one

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (HEADER, encoded)]
            await send(message)

        token = request_id.set(rid)
        try:
            await self.app(scope, receive, send_with_id)
        except BaseException:
            self._record(scope, root_path, status, started)
            raise  # the id stays set for the outer handler (see the module's docstring)
        self._record(scope, root_path, status, started)
        request_id.reset(token)

    def _record(self, scope: Scope, root_path: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        method: str = scope["method"] if scope["method"] in METHODS else "other"
        route = route_template(scope, root_path)
        self.metrics.observe(method, route, status, elapsed)
        if self.access_log and log.isEnabledFor(logging.INFO):
            principal = scope.get("state", {}).get("authenticated")
            fields = {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 2),
                "org_id": getattr(principal, "org_id", None),
            }
            # log.info() would first walk the stack for a file and line that this line
            # never shows: a third of its cost, once per request.
            record = log.makeRecord(
                log.name, logging.INFO, __file__, 0, "request", (), None, extra={"fields": fields}
            )
            log.handle(record)
