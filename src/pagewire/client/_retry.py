"""When to try a request again, and when to poll a job next: pure decisions, no I/O.

The client asks :meth:`RetryPolicy.delay` after every failed attempt and sleeps
for the answer through its injected ``sleep``; tests pass a fake sleep and a
seeded ``random.Random`` and read the schedule without waiting for it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["Backoff", "RetryPolicy", "is_retryable_status"]

# 501 means "never", not "not now"; every other 5xx may pass.
_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_retryable_status(status: int) -> bool:
    return status in _RETRYABLE_STATUSES or (status >= 500 and status != 501)


@dataclass(frozen=True)
class Backoff:
    """Exponential delays with jitter: ``initial * factor**n``, capped at ``maximum``.

    Jitter takes off up to ``jitter`` of each delay, so many clients that failed
    together do not come back together.
    """

    initial: float = 0.5
    factor: float = 2.0
    maximum: float = 8.0
    jitter: float = 0.25
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.factor < 1:
            raise ValueError("backoff delays are zero or more and grow by a factor of 1 or more")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def delay(self, step: int) -> float:
        """The delay before try ``step + 1`` (``step`` counts from 0)."""
        base = min(self.maximum, self.initial * self.factor ** min(step, 64))
        return base * (1 - self.jitter * self.rng.random())


@dataclass(frozen=True)
class RetryPolicy:
    """Retries for 408/429/5xx responses and connection errors.

    A ``Retry-After`` the server sends is honoured as it is, up to
    ``max_retry_after``; a longer one is not waited out here: the error reaches
    the caller, who knows better whether to wait that long.
    """

    max_retries: int = 2
    backoff: Backoff = field(default_factory=Backoff)
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries is zero or more")

    def delay(
        self, retries_done: int, *, status: int | None, retry_after: float | None = None
    ) -> float | None:
        """Seconds to wait before the next try, or None to give up.

        ``status`` is None when no response arrived (connection error, timeout).
        """
        if retries_done >= self.max_retries:
            return None
        if status is not None and not is_retryable_status(status):
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.backoff.delay(retries_done)
