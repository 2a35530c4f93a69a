"""Helpers the worker tests share: a job straight into the queue, its end, its events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from pagewire.models import JobInput, NewJob


async def submit(store: Any, org_id: str) -> str:
    job, _ = await store.jobs.enqueue(
        NewJob(
            org_id=org_id,
            input=JobInput("a.pdf", None, "application/pdf", "0" * 64, 10, "uploads/a"),
            options={},
            metadata={},
        )
    )
    return str(job.id)


async def finished(store: Any, org_id: str, job_id: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (job := await store.jobs.get(org_id, job_id)).status.is_final:
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.02)
    return job


async def events_of(store: Any, org_id: str, job_id: str) -> list[str]:
    """The types of the job's events, sorted."""
    page = await store.webhooks.list_messages(org_id, job_id=job_id, limit=100)
    return sorted(event.type for event in page.data)


async def aiter_of(*chunks: bytes) -> AsyncIterator[bytes]:
    """Chunks as the async iterator a blob store's ``put_stream`` reads."""
    for chunk in chunks:
        yield chunk
