"""A token bucket: ``rate`` per second, bursts of up to ``burst``.

Shared by the API's per-organization request limit (which refuses with 429) and
the dispatcher's per-endpoint delivery limit (which waits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class TokenBucket:
    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._tokens = self.burst
        self._at = clock()

    def try_take(self) -> float:
        """Take a token: 0 when one was there, else the seconds until there is one."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    async def take(self) -> None:
        """Take a token, waiting for one."""
        while wait := self.try_take():
            await asyncio.sleep(wait)
