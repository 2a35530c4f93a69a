"""The thin event payloads webhooks carry: what happened and where to read the truth."""

from __future__ import annotations

import time
from typing import Any

from pagewire.models import Job


def iso(ts: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC with milliseconds (``2026-11-28T22:40:05.123Z``)."""
    if ts is None:
        return None
    # As datetime would say it (microseconds rounded, then cut to milliseconds), at a
    # third of its cost: every event's payload carries one.
    seconds, micros = divmod(round(ts * 1_000_000), 1_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{micros // 1000:03d}Z"


def job_url(public_url: str, job_id: str) -> str:
    return f"{public_url.rstrip('/')}/job/{job_id}"


def job_event_payload(event_type: str, job: Job, *, public_url: str, at: float) -> dict[str, Any]:
    """Never the document's content: a receiver fetches ``data.url`` for that."""
    data: dict[str, Any] = {
        "job_id": job.id,
        "status": job.status.value,
        "sequence": job.sequence,
        "metadata": job.metadata,
        "page_count": job.page_count,
        "url": job_url(public_url, job.id),
    }
    if job.error is not None:
        data["error"] = job.error
    return {"type": event_type, "timestamp": iso(at), "data": data}
