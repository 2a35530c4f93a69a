"""The synchronous ``Pagewire`` against the real API in-process, through an injected transport."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pagewire import Pagewire
from pagewire.client import JobSubmission


class ThroughTheTestLoop(httpx.BaseTransport):
    """A sync transport that hands each request to the in-process app on the test's loop.

    The sync client runs in a worker thread (``asyncio.to_thread``) while the
    test's event loop keeps serving the app, exactly as a real server would.
    """

    def __init__(self, api: httpx.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._api = api
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        content = request.read()
        send = self._api.request(
            request.method, request.url, headers=request.headers, content=content
        )
        answer = asyncio.run_coroutine_threadsafe(send, self._loop).result(timeout=30)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


@pytest.fixture
async def sync_client(api: httpx.AsyncClient, tenant: Any) -> AsyncIterator[Pagewire]:
    transport = ThroughTheTestLoop(api, asyncio.get_running_loop())
    with Pagewire(api_key=tenant.api_key, base_url="http://testserver", transport=transport) as sdk:
        yield sdk


async def test_the_sync_client_submits_reads_and_cancels(
    sync_client: Pagewire, sample_pdf: Path
) -> None:
    await asyncio.to_thread(submit_read_and_cancel, sync_client, sample_pdf)


def submit_read_and_cancel(sync_client: Pagewire, sample_pdf: Path) -> None:
    submission = sync_client.extract(file=sample_pdf, metadata={"user_id": "u-1"})

    assert isinstance(submission, JobSubmission)
    assert sync_client.jobs.get_job(job_id=submission.job_id).metadata == {"user_id": "u-1"}
    assert sync_client.jobs.cancel_job(job_id=submission.job_id).status == "canceled"
    assert [j.job_id for j in sync_client.jobs.list()] == [submission.job_id]


async def test_a_file_object_that_cannot_seek_is_still_sent_whole(
    sync_client: Pagewire, sample_pdf: Path
) -> None:
    class Pipe(io.RawIOBase):
        """A stream read once, like a socket or a pipe."""

        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            chunk = self._data.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    content = sample_pdf.read_bytes()
    pipe = io.BufferedReader(Pipe(content))

    submission = await asyncio.to_thread(sync_client.extract, file=pipe, file_name="piped.pdf")

    job = await asyncio.to_thread(sync_client.jobs.get_job, submission.job_id)
    assert job.input.size == len(content) and job.input.file_name == "piped.pdf"
