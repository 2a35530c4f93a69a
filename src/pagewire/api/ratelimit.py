"""Per-organization request rate limits: a token bucket per organization, per API node.

Each node enforces its own buckets (no shared state to slow every request), so
with N API nodes an organization may reach N times the rate; operators size the
limit per node.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pagewire.errors import RateLimited
from pagewire.kernel.token_bucket import TokenBucket


class RateLimiter:
    def __init__(
        self, per_second: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.per_second = per_second
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, org_id: str) -> None:
        """Take one token for ``org_id`` or raise RateLimited with the wait in seconds."""
        if self.per_second <= 0:
            return
        bucket = self._buckets.get(org_id)
        if bucket is None:
            bucket = self._buckets[org_id] = TokenBucket(self.per_second, self.burst, self._clock)
        wait = bucket.try_take()
        if wait:
            raise RateLimited(
                f"too many requests: the limit is {self.per_second:g} per second "
                f"(bursts of {self.burst:g}); retry in {wait:.2f} s",
                retry_after=wait,
                details={"limit_per_second": self.per_second, "burst": self.burst},
            )
