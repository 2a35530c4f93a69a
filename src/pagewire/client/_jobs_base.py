"""What ``Jobs`` and ``AsyncJobs`` share, free of I/O: paths, filters, polling, progress."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pagewire.client._base import time_param
from pagewire.client._models import Job
from pagewire.client._retry import Backoff

__all__ = [
    "DEFAULT_POLL",
    "AsyncProgressCallback",
    "ProgressCallback",
    "ProgressReport",
    "job_path",
    "list_params",
]

# Polling is the fallback for a missed webhook: start quick, settle at a few seconds.
DEFAULT_POLL = Backoff(initial=0.5, factor=1.5, maximum=5.0, jitter=0.2)

ProgressCallback = Callable[[Job], Any]
# The async client also awaits what the callback returns, so it may be a coroutine function.
AsyncProgressCallback = Callable[[Job], Any | Awaitable[Any]]


def job_path(job_id: str) -> str:
    if not job_id:
        raise ValueError("job_id is empty")
    return f"/job/{quote(job_id, safe='')}"


def list_params(
    status: str | list[str] | None,
    created_after: datetime | str | float | None,
    created_before: datetime | str | float | None,
    page_size: int,
    cursor: str | None = None,
) -> dict[str, Any]:
    return {
        "status": ",".join(status) if isinstance(status, list | tuple) else status,
        "created_after": time_param(created_after),
        "created_before": time_param(created_before),
        "cursor": cursor,
        "limit": page_size,
    }


class ProgressReport:
    """Calls ``on_progress`` only when the status or the page count moved.

    :meth:`notify` (the sync client) and :meth:`anotify` (the async one) answer
    True when they called back, which is when ``wait`` goes back to quick polls.
    """

    def __init__(self, callback: AsyncProgressCallback | None) -> None:
        self._callback = callback
        self._last: tuple[str, int, int | None] | None = None

    def _due(self, job: Job) -> bool:
        seen = (job.status, job.progress.pages_done, job.progress.pages_total)
        moved = seen != self._last
        self._last = seen
        return moved and self._callback is not None

    def notify(self, job: Job) -> bool:
        if not self._due(job):
            return False
        assert self._callback is not None
        self._callback(job)
        return True

    async def anotify(self, job: Job) -> bool:
        if not self._due(job):
            return False
        assert self._callback is not None
        outcome = self._callback(job)
        if inspect.isawaitable(outcome):
            await outcome
        return True
