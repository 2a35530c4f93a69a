"""Waiting out a database that does not answer: delays that grow, for a bounded time.

A write that failed because the database could not be reached (or dropped the
connection) is not the job's or the delivery's fault, and usually succeeds a
moment later. :class:`Backoff` says how long to wait before each new try, and
:func:`retried` tries a write until it succeeds or the time is spent. What to do
then is the caller's decision (a worker hands the job back, the dispatcher keeps
its records and pauses claiming).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from pagewire.errors import StoreUnavailable

T = TypeVar("T")

log = logging.getLogger("pagewire.backoff")


@dataclass(frozen=True)
class Backoff:
    """Waits that double from ``first`` up to ``most`` seconds (each jittered down by
    up to half, so many processes do not come back at the same instant), for at
    most ``budget`` seconds in all."""

    first: float = 0.1
    most: float = 5.0
    budget: float = 30.0

    def delay(self, failures: int) -> float:
        """The wait after the ``failures``-th failure in a row (from 1)."""
        ceiling = min(self.most, self.first * 2.0 ** min(failures - 1, 30))
        return ceiling * random.uniform(0.5, 1.0)


async def retried(write: Callable[[], Awaitable[T]], backoff: Backoff, what: str) -> T:
    """``write()``'s answer, tried again after each :class:`StoreUnavailable` until
    ``backoff.budget`` seconds have passed; then that error is raised."""
    deadline = time.monotonic() + backoff.budget
    failures = 0
    while True:
        try:
            return await write()
        except StoreUnavailable as error:
            failures += 1
            pause = backoff.delay(failures)
            if time.monotonic() + pause > deadline:
                raise
            log.warning(
                "database unavailable, trying again",
                extra={
                    "fields": {
                        "what": what,
                        "failures": failures,
                        "retry_in": round(pause, 3),
                        "error": error.message,
                    }
                },
            )
            await asyncio.sleep(pause)
