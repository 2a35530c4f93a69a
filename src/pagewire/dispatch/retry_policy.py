"""The webhook retry decision: (attempts so far, what happened, now) -> what to do next.

Pure: no I/O and no clock reads. The dispatcher passes the time in and stores
the answer. The schedule lists the delay before each attempt, counted from the
previous failure: the first entry is the first attempt (0 = at once), so a
schedule of ten entries allows ten attempts in all.

An endpoint is disabled at once when it answers 410 Gone, and when every attempt
to it has failed for ``disable_after`` seconds. When that streak began only the
database knows (every dispatcher's failures count), so the dispatcher hands the
policy's ``disable_after`` to the store with each batch of attempts, which
applies it where it records them.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from pagewire.kernel.retry_after import parse_retry_after

__all__ = [
    "DEFAULT_SCHEDULE",
    "AttemptOutcome",
    "Decision",
    "Delivered",
    "DeliveryRetryPolicy",
    "DisableEndpoint",
    "GiveUp",
    "RetryAt",
    "parse_schedule",
]

# Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: about three days.
DEFAULT_SCHEDULE: tuple[float, ...] = (
    0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0, 86400.0,
)  # fmt: skip

# Statuses that mean "not now": their Retry-After is worth honouring.
RETRY_AFTER_STATUSES = frozenset({429, 502, 503, 504})


def parse_schedule(text: str) -> tuple[float, ...]:
    """Parse ``PAGEWIRE_WEBHOOK_RETRY_SCHEDULE``: comma-separated seconds, e.g. ``0,1,1,2``."""
    parts = [part.strip() for part in text.split(",")]
    if not text.strip():
        raise ValueError("the retry schedule is empty; give comma-separated seconds like 0,5,300")
    schedule: list[float] = []
    for position, part in enumerate(parts, start=1):
        try:
            seconds = float(part)
        except ValueError:
            raise ValueError(
                f"retry schedule entry {position} ({part!r}) is not a number of seconds"
            ) from None
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(
                f"retry schedule entry {position} ({part!r}) must be zero or more seconds"
            )
        schedule.append(seconds)
    return tuple(schedule)


# One per delivery, made by the sender: a plain slotted class (treated as read-only),
# built several times faster than a frozen dataclass.
@dataclass(slots=True)
class AttemptOutcome:
    """What one delivery attempt produced: a status code, or an error (timeout, refused...),
    and, for the attempt log, how long it took and the start of the receiver's answer."""

    status_code: int | None = None
    error: str | None = None
    retry_after: str | None = None
    latency: float = 0.0  # seconds
    response_body: str | None = None
    error_detail: str | None = None  # the library's own text, beside ``error``'s words

    def describe(self) -> str:
        if self.status_code is not None:
            return f"HTTP {self.status_code}"
        return self.error or "no response"


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class RetryAt:
    when: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


@dataclass(frozen=True)
class DisableEndpoint:
    reason: str


Decision = Delivered | RetryAt | GiveUp | DisableEndpoint


@dataclass(frozen=True)
class DeliveryRetryPolicy:
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    jitter: float = 0.2
    max_retry_after: float = 3600.0
    # An endpoint whose every attempt failed for this long is disabled.
    disable_after: float = 5 * 86400.0
    # Injected so tests (and simulations) can fix the jitter.
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.schedule:
            raise ValueError("a retry schedule needs at least one entry")
        if any(not math.isfinite(s) or s < 0 for s in self.schedule):
            raise ValueError("retry schedule entries must be zero or more seconds")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction between 0 and 1")
        if self.max_retry_after < 0:
            raise ValueError("max_retry_after must be zero or more seconds")
        if self.disable_after < 0:
            raise ValueError("disable_after must be zero or more seconds")

    @property
    def max_attempts(self) -> int:
        return len(self.schedule)

    def next_delay(self, attempt: int) -> float | None:
        """The jittered delay before attempt ``attempt + 1``, or None when none is left."""
        if attempt >= len(self.schedule):
            return None
        base = self.schedule[attempt]
        return base * (1 + self.rng.uniform(-self.jitter, self.jitter))

    def decide(self, attempt: int, outcome: AttemptOutcome, now: float) -> Decision:
        """Decide after attempt number ``attempt`` (1 after the first) produced ``outcome``."""
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        status = outcome.status_code
        if status is not None and 200 <= status < 300:
            return Delivered()
        if status == 410:
            return DisableEndpoint("the endpoint answered 410 Gone")

        # Everything else is a failure, 3xx included: redirects are not followed.
        delay = self.next_delay(attempt)
        if delay is None:
            return GiveUp(f"gave up after {attempt} attempts; last: {outcome.describe()}")
        if status in RETRY_AFTER_STATUSES:
            asked = parse_retry_after(outcome.retry_after, now)
            if asked is not None:
                # The receiver may ask for more time, never for less than the schedule gives.
                delay = max(delay, min(asked, self.max_retry_after))
        return RetryAt(now + delay)
