"""The worker's and the dispatcher's spans, made only while traces are on
(:func:`pagewire.telemetry.traces.tracer` is not None): see that module."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from pagewire.telemetry.traces import JOB_ID, TRACEPARENT, context_of

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from pagewire.models import ClaimedDelivery, Job

# The worker's page callback: pages done, pages in all; answers whether to go on.
OnPage = Callable[[int, int], Awaitable[bool]]


class JobTrace:
    """One run of a job in the worker: its claim, its extraction and the pages read,
    in the trace its submission started (when the API stored one with the job)."""

    def __init__(self, tracer: Tracer, job: Job, claim_started: int, claim_ended: int) -> None:
        self.tracer = tracer
        self.job_id = job.id
        self.parent = context_of(job.request.get(TRACEPARENT))
        attributes: dict[str, str | int] = {JOB_ID: job.id, "pagewire.attempt": job.attempts}
        claim = tracer.start_span(
            "pagewire.claim", context=self.parent, start_time=claim_started, attributes=attributes
        )
        claim.end(end_time=claim_ended)
        self.extract: Span = tracer.start_span(
            "pagewire.extract", context=self.parent, attributes=attributes
        )
        self._in_extract = trace.set_span_in_context(self.extract)
        self._page_started = time.time_ns()

    def page(self, done: int, total: int) -> None:
        """The extractor reported ``done`` of ``total`` pages: that page's span ends now
        (``done`` 0: the document is open, its pages counted)."""
        now = time.time_ns()
        attributes: dict[str, str | int] = {JOB_ID: self.job_id, "pagewire.pages_total": total}
        if done:
            attributes["pagewire.page"] = done
        self.tracer.start_span(
            "pagewire.extract.page" if done else "pagewire.extract.open",
            context=self._in_extract,
            start_time=self._page_started,
            attributes=attributes,
        ).end(end_time=now)
        self._page_started = now

    def wrap(self, on_page: OnPage) -> OnPage:
        """``on_page``, with a span for each page it is told of."""

        async def traced(done: int, total: int) -> bool:
            self.page(done, total)
            return await on_page(done, total)

        return traced

    def finished(self, status: str, page_count: int | None, error_code: str | None) -> None:
        self.extract.set_attribute("pagewire.status", status)
        if page_count is not None:
            self.extract.set_attribute("pagewire.page_count", page_count)
        if error_code:
            self.extract.set_attribute("pagewire.error_code", error_code)
            self.extract.set_status(Status(StatusCode.ERROR, error_code))
        self.extract.end()


def attempt_span(
    tracer: Tracer,
    delivery: ClaimedDelivery,
    *,
    status_code: int | None,
    error: str | None,
    latency: float,
    verdict: str,
) -> None:
    """A delivery attempt that was answered (or failed) just now, ``latency`` seconds long."""
    now = time.time_ns()
    attributes: dict[str, Any] = {
        "pagewire.webhook_id": delivery.event_id,
        "pagewire.event_type": delivery.event_type,
        "pagewire.endpoint_id": delivery.endpoint_id,
        "pagewire.attempt": delivery.attempt,
        "pagewire.verdict": verdict,
    }
    if delivery.job_id is not None:
        attributes[JOB_ID] = delivery.job_id
    if status_code is not None:
        attributes["http.response.status_code"] = status_code
    span = tracer.start_span(
        "pagewire.webhook.attempt",
        start_time=now - int(latency * 1e9),
        attributes=attributes,
        kind=trace.SpanKind.CLIENT,
    )
    if verdict != "succeeded":
        span.set_status(Status(StatusCode.ERROR, error or f"HTTP {status_code}"))
    span.end(end_time=now)
