"""What the worker tells an operator about each job: log lines, metrics, spans.

One place, so the loop (:mod:`pagewire.worker.loop`) makes one call per step of a
job: the transition's log line, the Prometheus series
(:mod:`pagewire.telemetry.job_metrics`; None: not kept) and, while traces are on,
the spans (:mod:`pagewire.telemetry.spans`; a tracer of None makes none).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pagewire.models import Job, JobStatus
from pagewire.telemetry.job_metrics import JobMetrics

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from pagewire.telemetry.spans import JobTrace, OnPage
    from pagewire.worker.runner import Outcome

log = logging.getLogger("pagewire.worker")


class WorkerSignals:
    def __init__(self, worker_id: str, metrics: JobMetrics | None, tracer: Tracer | None) -> None:
        self.worker_id = worker_id
        self.metrics = metrics
        self.tracer = tracer

    def transition(self, job: Job, what: str, **fields: Any) -> None:
        """The log line of a job's change (``claimed``, ``released``, ``completed``...)."""
        if not log.isEnabledFor(logging.INFO):
            return  # a busy worker makes several per job: skip building them unheard
        log.info(
            f"job {what}",
            extra={
                "fields": {
                    "job_id": job.id,
                    "org_id": job.org_id,
                    "status": job.status.value,
                    "attempt": job.attempts,
                    "worker_id": self.worker_id,
                    **{k: v for k, v in fields.items() if v is not None},
                }
            },
        )

    def claimed(self, job: Job, claim_started: int) -> RunSignals:
        """``job`` was claimed by the claim that began at ``claim_started`` (``time_ns``)."""
        self.transition(job, "claimed")
        if self.metrics is not None:
            self.metrics.claimed(job)
        spans = None
        if self.tracer is not None:
            from pagewire.telemetry.spans import JobTrace

            spans = JobTrace(self.tracer, job, claim_started, time.time_ns())
        return RunSignals(self, spans)

    def assembled(self, job: Job, *, pages: int, parts: int) -> None:
        """A split job completed from its ``parts``: every run's ``pages`` together."""
        self.transition(job, job.status.value, parts=parts, pages=pages)
        if self.metrics is not None:
            # From its first run's start to now: the job's time, over all its parts.
            ran = time.time() - job.started_at if job.started_at is not None else None
            self.metrics.finished_job(replace(job, pages_done=pages), ran)

    def rescued(self, job: Job) -> None:
        """A dead worker's job, retried (pending) or finished (failed ``worker_lost``, canceled)."""
        self.transition(job, "rescued")
        if self.metrics is not None and job.status is not JobStatus.PENDING:
            self.metrics.finished_job(job, None)


class RunSignals:
    """One run of one job, from its claim."""

    def __init__(self, worker: WorkerSignals, spans: JobTrace | None) -> None:
        self.worker = worker
        self.spans = spans
        self.started = time.monotonic()

    def watch_pages(self, on_page: OnPage) -> OnPage:
        return on_page if self.spans is None else self.spans.wrap(on_page)

    def ran(self, outcome: Outcome) -> None:
        """The extractor is done (its outcome not yet recorded)."""
        if self.worker.metrics is not None:
            self.worker.metrics.extracted(outcome.cpu_seconds)
        if self.spans is not None:
            code = (outcome.error or {}).get("code")
            self.spans.finished(outcome.status, outcome.page_count, code)
            self.spans = None

    def recorded(self, job: Job) -> None:
        """The run's outcome was committed: ``job`` as it now is."""
        ran = time.monotonic() - self.started
        if self.worker.metrics is not None:
            self.worker.metrics.finished_job(job, ran)
        self.worker.transition(
            job,
            job.status.value,
            duration_s=round(ran, 3),
            error_code=(job.error or {}).get("code"),
        )

    def close(self) -> None:
        """The run ended without an outcome from the extractor (stopped, crashed)."""
        if self.spans is not None:
            self.spans.finished("interrupted", None, None)
            self.spans = None
