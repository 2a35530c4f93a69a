"""``client.jobs``: read, list, cancel and wait for jobs (sync and async twins)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pagewire.client._base import json_body
from pagewire.client._errors import WaitTimeoutError
from pagewire.client._models import Job, JobResult, ListPage
from pagewire.client._retry import Backoff

if TYPE_CHECKING:
    from pagewire.client._async import AsyncPagewire
    from pagewire.client._client import Pagewire

__all__ = ["DEFAULT_POLL", "AsyncJobs", "Jobs"]

# Polling is the fallback for a missed webhook: start quick, settle at a few seconds.
DEFAULT_POLL = Backoff(initial=0.5, factor=1.5, maximum=5.0, jitter=0.2)

ProgressCallback = Callable[[Job], Any]


def _job_path(job_id: str) -> str:
    if not job_id:
        raise ValueError("job_id is empty")
    return f"/job/{quote(job_id, safe='')}"


def _list_params(
    status: str | list[str] | None,
    created_after: datetime | str | float | None,
    created_before: datetime | str | float | None,
    cursor: str | None,
    page_size: int,
) -> dict[str, Any]:
    return {
        "status": ",".join(status) if isinstance(status, list | tuple) else status,
        "created_after": _time_param(created_after),
        "created_before": _time_param(created_before),
        "cursor": cursor,
        "limit": page_size,
    }


def _time_param(value: datetime | str | float | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _job_page(body: Any) -> ListPage[Job]:
    return ListPage([Job.from_dict(j) for j in body.get("data", [])], body.get("next_cursor"))


class _Progress:
    """Calls ``on_progress`` only when the status or the page count moved."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._last: tuple[str, int, int | None] | None = None

    def changed(self, job: Job) -> bool:
        seen = (job.status, job.progress.pages_done, job.progress.pages_total)
        moved = seen != self._last
        self._last = seen
        return moved and self._callback is not None


class Jobs:
    """Jobs of the client's organization. Reach it as ``client.jobs``."""

    def __init__(self, client: Pagewire) -> None:
        self._client = client

    def get_job(self, job_id: str) -> Job:
        """The job as it is now: status, progress, metadata, and the result once completed."""
        return Job.from_dict(json_body(self._client._request("GET", _job_path(job_id))))

    def cancel_job(self, job_id: str) -> Job:
        """Cancel: a pending job at once, a processing one at its next page. Idempotent."""
        return Job.from_dict(json_body(self._client._request("DELETE", _job_path(job_id))))

    def list_page(
        self,
        *,
        status: str | list[str] | None = None,
        created_after: datetime | str | float | None = None,
        created_before: datetime | str | float | None = None,
        cursor: str | None = None,
        page_size: int = 50,
    ) -> ListPage[Job]:
        """One page of jobs, newest first (results are left out; get a job to read its result)."""
        params = _list_params(status, created_after, created_before, cursor, page_size)
        return _job_page(json_body(self._client._request("GET", "/jobs", params=params)))

    def list(
        self,
        *,
        status: str | list[str] | None = None,
        created_after: datetime | str | float | None = None,
        created_before: datetime | str | float | None = None,
        page_size: int = 50,
    ) -> Iterator[Job]:
        """Every matching job, newest first, fetching further pages as the loop reaches them."""
        cursor: str | None = None
        while True:
            page = self.list_page(
                status=status,
                created_after=created_after,
                created_before=created_before,
                cursor=cursor,
                page_size=page_size,
            )
            yield from page.data
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        poll: Backoff = DEFAULT_POLL,
    ) -> Job:
        """Poll until the job is final and return it (whatever its status).

        The fallback for a webhook that never came: polls with exponential
        backoff and jitter (``poll``), calling ``on_progress(job)`` whenever the
        status or page count moves. Raises :class:`WaitTimeoutError` (which
        carries the last job seen) after ``timeout`` seconds.
        """
        clock, sleep = self._client._clock, self._client._sleep
        started = clock()
        progress = _Progress(on_progress)
        step = 0
        while True:
            job = self.get_job(job_id)
            if progress.changed(job):
                assert on_progress is not None
                on_progress(job)
                step = 0  # the job is moving: keep the next look soon
            if job.is_final:
                return job
            delay = poll.delay(step)
            step += 1
            if timeout is not None:
                remaining = started + timeout - clock()
                if remaining <= 0:
                    raise WaitTimeoutError(job, timeout)
                delay = min(delay, remaining)
            sleep(delay)

    def get_result(self, job_id: str) -> JobResult:
        """The completed job's full result, downloaded when it was too large to inline.

        Raises :class:`ConflictError` (code ``job_not_completed``) for a job that
        has not completed.
        """
        job = self.get_job(job_id)
        if isinstance(job.result, JobResult):
            return job.result
        # A ResultLink, or no result yet: the API either sends it or says why not.
        path = f"{_job_path(job_id)}/result"
        return JobResult.from_dict(json_body(self._client._request("GET", path)))


class AsyncJobs:
    """Jobs of the client's organization. Reach it as ``client.jobs``."""

    def __init__(self, client: AsyncPagewire) -> None:
        self._client = client

    async def get_job(self, job_id: str) -> Job:
        """The job as it is now: status, progress, metadata, and the result once completed."""
        return Job.from_dict(json_body(await self._client._request("GET", _job_path(job_id))))

    async def cancel_job(self, job_id: str) -> Job:
        """Cancel: a pending job at once, a processing one at its next page. Idempotent."""
        return Job.from_dict(json_body(await self._client._request("DELETE", _job_path(job_id))))

    async def list_page(
        self,
        *,
        status: str | list[str] | None = None,
        created_after: datetime | str | float | None = None,
        created_before: datetime | str | float | None = None,
        cursor: str | None = None,
        page_size: int = 50,
    ) -> ListPage[Job]:
        """One page of jobs, newest first (results are left out; get a job to read its result)."""
        params = _list_params(status, created_after, created_before, cursor, page_size)
        return _job_page(json_body(await self._client._request("GET", "/jobs", params=params)))

    async def list(
        self,
        *,
        status: str | list[str] | None = None,
        created_after: datetime | str | float | None = None,
        created_before: datetime | str | float | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Job]:
        """Every matching job, newest first: ``async for job in client.jobs.list(): ...``."""
        cursor: str | None = None
        while True:
            page = await self.list_page(
                status=status,
                created_after=created_after,
                created_before=created_before,
                cursor=cursor,
                page_size=page_size,
            )
            for job in page.data:
                yield job
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: Callable[[Job], Any | Awaitable[Any]] | None = None,
        poll: Backoff = DEFAULT_POLL,
    ) -> Job:
        """Poll until the job is final and return it; see :meth:`Jobs.wait`.

        ``on_progress`` may be a plain function or a coroutine function.
        """
        clock, sleep = self._client._clock, self._client._sleep
        started = clock()
        progress = _Progress(on_progress)
        step = 0
        while True:
            job = await self.get_job(job_id)
            if progress.changed(job):
                assert on_progress is not None
                outcome = on_progress(job)
                if isinstance(outcome, Awaitable):
                    await outcome
                step = 0
            if job.is_final:
                return job
            delay = poll.delay(step)
            step += 1
            if timeout is not None:
                remaining = started + timeout - clock()
                if remaining <= 0:
                    raise WaitTimeoutError(job, timeout)
                delay = min(delay, remaining)
            await sleep(delay)

    async def get_result(self, job_id: str) -> JobResult:
        """The completed job's full result; see :meth:`Jobs.get_result`."""
        job = await self.get_job(job_id)
        if isinstance(job.result, JobResult):
            return job.result
        path = f"{_job_path(job_id)}/result"
        body = json_body(await self._client._request("GET", path))
        return JobResult.from_dict(body)
