"""The worker's Prometheus metrics: how long jobs wait and run, how they end, pages read.

Counted where the worker commits an outcome (a run whose lease was lost counts
nothing: the worker that rescued the job counts it). A job canceled while still
pending never reaches a worker and is not counted here; ``pagewire_jobs{status}``
(:mod:`pagewire.telemetry.queue_metrics`) has every job.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from pagewire.models import Job

# A page of plain text takes milliseconds, an OCR'd page seconds; a job runs up to
# its time limit (10 minutes by default).
RUN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)
# The extractor's CPU for a run: milliseconds for a short text PDF, minutes for a long scan.
CPU_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
# An idle queue starts a job within a wake-up; a backlog holds it for minutes.
WAIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.run_seconds = Histogram(
            "pagewire_job_run_seconds",
            "Time a worker spent on a job, from its claim to its recorded outcome, by status",
            ["status"],
            buckets=RUN_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "pagewire_job_queue_wait_seconds",
            "Time from a job's submission to its first claim by a worker",
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.finished = Counter(
            "pagewire_jobs_finished",
            "Jobs finished by a worker, by status and error code (empty when none)",
            ["status", "error_code"],
            registry=registry,
        )
        self.extractor_cpu = Histogram(
            "pagewire_job_extractor_cpu_seconds",
            "CPU time the extractor child used for a completed run (a job, or a part of "
            "a split one), with its helpers' (tesseract)",
            buckets=CPU_BUCKETS,
            registry=registry,
        )
        self.pages = Counter(
            "pagewire_pages_processed",
            "Pages extracted, counted as jobs finish (the selected pages of a completed job)",
            registry=registry,
        )

    def claimed(self, job: Job) -> None:
        """A job was claimed: its queue wait, on its first attempt only (a retried job
        waited through an earlier run too)."""
        if job.attempts <= 1 and job.started_at is not None:
            self.queue_wait.observe(max(0.0, job.started_at - job.created_at))

    def extracted(self, cpu_seconds: float | None) -> None:
        """A run's extractor child finished (``cpu_seconds`` None: it did not say)."""
        if cpu_seconds is not None:
            self.extractor_cpu.observe(cpu_seconds)

    def finished_job(self, job: Job, run_seconds: float | None) -> None:
        """A job's outcome was recorded (``run_seconds`` None: it was failed by a rescue)."""
        status = job.status.value
        code = (job.error or {}).get("code") or ""
        self.finished.labels(status, str(code)).inc()
        if run_seconds is not None:
            self.run_seconds.labels(status).observe(run_seconds)
        if job.pages_done > 0:  # a completed job's are all it was asked for
            self.pages.inc(job.pages_done)
