"""The per-organization token bucket, with an injected clock."""

from __future__ import annotations

import pytest

from pagewire.api.ratelimit import RateLimiter
from pagewire.errors import RateLimited


def test_a_burst_passes_then_the_next_request_is_told_when_to_retry() -> None:
    now = [100.0]
    limiter = RateLimiter(per_second=2, burst=3, clock=lambda: now[0])
    for _ in range(3):
        limiter.check("org_a")
    with pytest.raises(RateLimited) as refused:
        limiter.check("org_a")
    assert refused.value.retry_after == pytest.approx(0.5)
    limiter.check("org_b")  # another organization has its own bucket
    now[0] += 0.5
    limiter.check("org_a")  # one token refilled


def test_zero_means_no_limit() -> None:
    limiter = RateLimiter(per_second=0, burst=0)
    for _ in range(1000):
        limiter.check("org_a")
