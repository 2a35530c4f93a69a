"""Per-organization request rate limits, held across every API node.

The bucket of each organization lives in the database (:mod:`pagewire.store.ratelimits`),
so N API nodes together let an organization through at the configured rate, not N
times it. A request over the limit is refused with 429 and ``Retry-After``.
"""

from __future__ import annotations

from pagewire.errors import RateLimited
from pagewire.settings import Settings
from pagewire.store import Store


async def check_rate(store: Store, settings: Settings, org_id: str) -> None:
    """Take one token for ``org_id`` or raise RateLimited with the wait in seconds."""
    per_second, burst = settings.rate_limit_per_second, max(settings.rate_limit_burst, 1.0)
    if per_second <= 0:
        return
    wait = await store.rate_buckets.take(f"org:{org_id}", per_second, burst)
    if wait:
        raise RateLimited(
            f"too many requests: the limit is {per_second:g} per second "
            f"(bursts of {burst:g}); retry in {wait:.2f} s",
            retry_after=wait,
            details={"limit_per_second": per_second, "burst": burst},
        )
