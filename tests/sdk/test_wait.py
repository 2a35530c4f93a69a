"""``jobs.wait``: the polling fallback, read against a fake clock (no test waits for real).

Each test runs with ``Pagewire`` and with ``AsyncPagewire`` (the ``kind`` fixture)
unless it checks what only one of them has.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest

from pagewire import AsyncPagewire, WaitTimeoutError
from pagewire.client import Backoff, Job
from sdk.twins import Twin, make_client


def job(status: str, done: int = 0, total: int | None = None) -> dict[str, Any]:
    return {
        "job_id": "job_1",
        "status": status,
        "progress": {"pages_done": done, "pages_total": total},
    }


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def serving(states: list[dict[str, Any]]) -> httpx.MockTransport:
    """Each GET /job answers the next state; the last one repeats. POST /extract: 202."""

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            assert request.url.path == "/extract"
            return httpx.Response(202, json=job("pending"))
        assert request.url.path == "/job/job_1"
        return httpx.Response(200, json=states.pop(0) if len(states) > 1 else states[0])

    return httpx.MockTransport(answer)


NO_JITTER = Backoff(initial=1, factor=2, maximum=8, jitter=0)


def waiting_client(kind: str, states: list[dict[str, Any]], time: FakeTime) -> Twin:
    return make_client(
        kind, api_key="k", transport=serving(states), clock=time.clock, sleep=time.sleep
    )


async def test_wait_polls_with_exponential_backoff_until_the_job_is_final(kind: str) -> None:
    time = FakeTime()
    states = [job("pending")] * 4 + [job("completed", 3, 3)]
    client = waiting_client(kind, states, time)

    finished = await client.jobs.wait("job_1", poll=NO_JITTER)

    assert finished.status == "completed"
    assert time.sleeps == [1, 2, 4, 8]


async def test_wait_caps_the_delay_and_jitters_it_below_the_cap(kind: str) -> None:
    time = FakeTime()
    states = [job("pending")] * 6 + [job("failed")]
    client = waiting_client(kind, states, time)
    poll = Backoff(initial=1, factor=2, maximum=4, jitter=0.5, rng=random.Random(1))

    assert (await client.jobs.wait("job_1", poll=poll)).status == "failed"

    assert len(time.sleeps) == 6
    assert all(0 < s <= 4 for s in time.sleeps) and max(time.sleeps) > 2
    assert len(set(time.sleeps)) == 6  # jittered: no two clients in step


async def test_wait_reports_progress_only_when_it_moves_and_polls_soon_while_it_does(
    kind: str,
) -> None:
    time = FakeTime()
    states = [
        job("pending"),
        job("processing", 0, 4),
        job("processing", 0, 4),
        job("processing", 2, 4),
        job("completed", 4, 4),
    ]
    seen: list[tuple[str, int]] = []
    client = waiting_client(kind, states, time)

    await client.jobs.wait(
        "job_1",
        poll=NO_JITTER,
        on_progress=lambda j: seen.append((j.status, j.progress.pages_done)),
    )

    assert seen == [("pending", 0), ("processing", 0), ("processing", 2), ("completed", 4)]
    assert time.sleeps == [1, 1, 2, 1]


async def test_wait_gives_up_after_its_timeout_with_the_last_job_seen(kind: str) -> None:
    time = FakeTime()
    client = waiting_client(kind, [job("processing", 5, 100)], time)

    with pytest.raises(WaitTimeoutError) as caught:
        await client.jobs.wait("job_1", timeout=10, poll=NO_JITTER)

    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value.job, Job) and caught.value.job.progress.pages_done == 5
    assert sum(time.sleeps) == pytest.approx(10)  # the last sleep is cut to the deadline


async def test_a_sync_mode_extract_the_server_did_not_finish_is_waited_for(kind: str) -> None:
    time = FakeTime()
    client = waiting_client(kind, [job("processing", 1, 2), job("completed", 2, 2)], time)

    finished = await client.extract(file=b"%PDF-1.7 ...", async_=False, wait_timeout=30)

    assert isinstance(finished, Job) and finished.status == "completed"
    assert len(time.sleeps) == 1


async def test_a_sync_mode_extract_gives_up_after_its_wait_timeout(kind: str) -> None:
    time = FakeTime()
    client = waiting_client(kind, [job("processing", 1, 2)], time)

    with pytest.raises(WaitTimeoutError) as caught:
        await client.extract(file=b"%PDF-1.7 ...", async_=False, wait_timeout=5)

    assert caught.value.timeout == 5 and sum(time.sleeps) == pytest.approx(5)


async def test_async_wait_accepts_a_coroutine_progress_callback() -> None:
    time = FakeTime()
    states = [job("pending"), job("processing", 1, 2), job("canceled", 1, 2)]
    seen: list[str] = []

    async def record(j: Job) -> None:
        seen.append(j.status)

    async with AsyncPagewire(
        api_key="k", transport=serving(states), clock=time.clock, sleep=time.async_sleep
    ) as client:
        finished = await client.jobs.wait("job_1", on_progress=record, poll=NO_JITTER)

    assert finished.status == "canceled"
    assert seen == ["pending", "processing", "canceled"]
