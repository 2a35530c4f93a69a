"""``Retry-After`` parsing, shared by the dispatcher (a receiver's answer) and the SDK (ours)."""

from __future__ import annotations

from datetime import UTC
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from ``now`` that a ``Retry-After`` header asks us to wait.

    Accepts delay-seconds and HTTP-dates; a date in the past means 0. Returns
    None for a missing or unreadable header.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # a "-0000" zone: the time is still UTC
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
