"""``client.jobs`` of ``AsyncPagewire``: read, list, cancel and wait for jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING

from pagewire.client._base import job_answer, json_body, list_page
from pagewire.client._errors import WaitTimeoutError
from pagewire.client._jobs_base import (
    DEFAULT_POLL,
    AsyncProgressCallback,
    ProgressReport,
    job_path,
    list_params,
)
from pagewire.client._models import Job, JobAudit, JobResult, ListPage
from pagewire.client._retry import Backoff

if TYPE_CHECKING:
    from pagewire.client._async.client import AsyncPagewire

__all__ = ["AsyncJobs"]


class AsyncJobs:
    """Jobs of the client's organization. Reach it as ``client.jobs``."""

    def __init__(self, client: AsyncPagewire) -> None:
        self._client = client

    async def get_job(self, job_id: str) -> Job:
        """The job as it is now: status, progress, metadata, and the result once completed."""
        return job_answer(await self._client._request("GET", job_path(job_id)))

    async def cancel_job(self, job_id: str) -> Job:
        """Cancel: a pending job at once, a processing one at its next page. Idempotent."""
        return job_answer(await self._client._request("DELETE", job_path(job_id)))

    async def audit(self, job_id: str) -> JobAudit:
        """Who submitted the job, and how: API key id, IP, user agent, request id, metadata."""
        response = await self._client._request("GET", f"{job_path(job_id)}/audit")
        return JobAudit.from_dict(json_body(response))

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
        params = list_params(status, created_after, created_before, page_size, cursor)
        return list_page(await self._client._request("GET", "/jobs", params=params), Job.from_dict)

    def list(
        self,
        *,
        status: str | list[str] | None = None,
        created_after: datetime | str | float | None = None,
        created_before: datetime | str | float | None = None,
        page_size: int = 50,
    ) -> AsyncIterator[Job]:
        """Every matching job, newest first: ``async for job in client.jobs.list(): ...``.

        Further pages are fetched as the loop reaches them.
        """
        params = list_params(status, created_after, created_before, page_size)
        return self._client._paginate("/jobs", params, Job.from_dict)

    async def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        on_progress: AsyncProgressCallback | None = None,
        poll: Backoff = DEFAULT_POLL,
    ) -> Job:
        """Poll until the job is final and return it (whatever its status).

        The fallback for a webhook that never came: polls with exponential
        backoff and jitter (``poll``), calling ``on_progress(job)`` whenever the
        status or page count moves (the async client also awaits what it
        returns, so it may be a coroutine function). Raises
        :class:`WaitTimeoutError` (which carries the last job seen) after
        ``timeout`` seconds.
        """
        clock, sleep = self._client._clock, self._client._sleep
        started = clock()
        progress = ProgressReport(on_progress)
        step = 0
        while True:
            job = await self.get_job(job_id)
            if await progress.anotify(job):
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
            await sleep(delay)

    async def get_result(self, job_id: str) -> JobResult:
        """The completed job's full result, downloaded when it was too large to inline.

        Raises :class:`ConflictError` (code ``job_not_completed``) for a job that
        has not completed.
        """
        job = await self.get_job(job_id)
        if isinstance(job.result, JobResult):
            return job.result
        # A ResultLink, or no result yet: the API either sends it or says why not.
        return JobResult.from_dict(await self._client._json("GET", f"{job_path(job_id)}/result"))
