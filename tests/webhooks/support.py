"""Real webhook receivers on 127.0.0.1 and helpers the webhook tests share.

Every request a receiver gets can be checked with the independent
``standardwebhooks`` and ``svix`` libraries (``assert_verified``).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import standardwebhooks
import svix.webhooks
from aiohttp import web

from pagewire.models import JobInput, NewEvent, NewJob
from pagewire.store import outbox

Behaviour = Callable[["Received"], Awaitable[web.StreamResponse]]


_ARRIVALS = itertools.count()


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived
    path: str
    # the arrival's rank across every receiver of the run: "before" without clocks
    order: int = field(default_factory=lambda: next(_ARRIVALS))

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


def verifies(received: Received, secret: str) -> bool:
    """Both reference libraries accept this request under ``secret``."""
    try:
        standardwebhooks.Webhook(secret).verify(received.body, received.headers)
        svix.webhooks.Webhook(secret).verify(received.body, received.headers)
    except (standardwebhooks.WebhookVerificationError, svix.webhooks.WebhookVerificationError):
        return False
    return True


class Receiver:
    """An aiohttp server that records every request and answers by a script.

    ``script`` lists the status codes of the first answers (then 200);
    ``behaviour`` replaces that with a coroutine deciding each answer.
    """

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answered: list[tuple[Received, int]] = []
        self.script: list[int] = []
        self.behaviour: Behaviour | None = None
        self.secret: str | None = None
        self._arrived = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.1
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        received = Received(
            {k.lower(): v for k, v in request.headers.items()},
            await request.read(),
            time.time(),
            request.path,
        )
        async with self._arrived:
            self.received.append(received)
            self._arrived.notify_all()
        if self.behaviour is not None:
            response = await self.behaviour(received)
        else:
            status = self.script.pop(0) if self.script else 200
            response = web.Response(status=status, text="ok" if status < 300 else "nope")
        self.answered.append((received, response.status))
        return response

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Until ``count`` requests arrived (or fail after ``timeout``)."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.received) >= count), timeout
            )
        return list(self.received)

    async def wait_answered(self, count: int, status: int = 200, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while sum(1 for _, s in self.answered if s == status) < count:
            assert time.monotonic() < deadline, f"{self.answered=}"
            await asyncio.sleep(0.01)

    def assert_verified(self, secret: str | None = None) -> None:
        secret = secret or self.secret
        assert secret is not None
        assert self.received, "nothing was delivered"
        for received in self.received:
            assert verifies(received, secret), received


async def emit(
    store: Any,
    org_id: str,
    *,
    type_: str = "job.completed",
    job_id: str | None = None,
    sequence: int = 0,
) -> tuple[str, float]:
    """One event straight into the outbox; (its id, the time its transaction committed)."""
    payload = {"type": type_, "data": {"job_id": job_id, "sequence": sequence}}
    now = await store.db.current_time()  # the store's clock, which a test may have set
    async with store.db.write() as conn:
        [event_id] = await outbox.append(
            store.db,
            conn,
            [NewEvent(org_id, type_, payload, job_id=job_id, sequence=sequence)],
            now=now,
        )
    return event_id, time.time()


def new_job(org_id: str) -> NewJob:
    return NewJob(
        org_id=org_id,
        input=JobInput("a.pdf", None, "application/pdf", "0" * 64, 10, "uploads/x"),
        options={},
        metadata={"user_id": "u1"},
    )


async def until(what: str, check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """``check()``'s first true answer (awaited if it is a coroutine), asked again
    every few milliseconds; fails after ``timeout``, saying ``what`` it waited for."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if inspect.isawaitable(found):
            found = await found
        if found:
            return found
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)
