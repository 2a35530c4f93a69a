"""The thin event payloads webhooks carry: what happened and where to read the truth."""

from __future__ import annotations

from typing import Any

from pagewire.kernel.timefmt import iso
from pagewire.models import Job


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
