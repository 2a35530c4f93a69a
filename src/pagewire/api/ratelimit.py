"""Per-organization request rate limits: a token bucket per organization, per API node.

Each node enforces its own buckets (no shared state to slow every request), so
with N API nodes an organization may reach N times the rate; operators size the
limit per node.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pagewire.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self, per_second: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def check(self, org_id: str) -> None:
        """Take one token for ``org_id`` or raise RateLimited with the wait in seconds."""
        if self.per_second <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get(org_id)
        if bucket is None:
            bucket = self._buckets[org_id] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        wait = (1 - bucket.tokens) / self.per_second
        raise RateLimited(
            f"too many requests: the limit is {self.per_second:g} per second "
            f"(bursts of {self.burst:g}); retry in {wait:.2f} s",
            retry_after=wait,
            details={"limit_per_second": self.per_second, "burst": self.burst},
        )
