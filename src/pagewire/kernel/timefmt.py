"""Times on the wire: the one parser of the times callers send, the one formatter of ours.

We write every time as RFC 3339 UTC with milliseconds (``2026-11-28T22:40:05.123Z``).
We read RFC 3339 / ISO 8601 times with ``Z`` or an offset, and epoch seconds. A time
written without a zone is UTC, never the server's local time: what a request means
must not depend on where the server runs.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

__all__ = ["EARLIEST", "LATEST", "iso", "parse_time"]

# The times a datetime can hold (years 1 to 9999, UTC): every time we accept can be
# written back out.
EARLIEST = datetime(1, 1, 1, tzinfo=UTC).timestamp()
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC).timestamp()


def parse_time(value: str | float | None, name: str = "the time") -> float | None:
    """Epoch seconds of an RFC 3339 / ISO 8601 time or of epoch seconds.

    ``2026-11-28T22:00:00Z``, ``2026-11-28T23:00:00+01:00``, ``2026-11-28`` (UTC
    midnight) and ``1795903200`` are all accepted; a missing zone means UTC. None or
    a blank string is None (no time given). Anything else raises ValueError, with a
    message that starts with ``name``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        seconds = _number(text)
        if seconds is None:
            seconds = _rfc3339(text, name)
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or not EARLIEST <= seconds <= LATEST:
        raise ValueError(f"{name} is out of range: give a time between the years 1 and 9999")
    return seconds


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _rfc3339(text: str, name: str) -> float:
    try:
        # RFC 3339 allows a lower-case "t" and "z"; datetime reads only capitals.
        parsed = datetime.fromisoformat(text.upper())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError):
        raise ValueError(
            f"{name} must be an RFC 3339 time (2026-11-28T22:00:00Z) or epoch seconds"
        ) from None


def iso(ts: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC with milliseconds (``2026-11-28T22:40:05.123Z``)."""
    if ts is None:
        return None
    # As datetime would say it (microseconds rounded, then cut to milliseconds), without
    # building a datetime: every event's payload carries one.
    seconds, micros = divmod(round(ts * 1_000_000), 1_000_000)
    t = time.gmtime(seconds)  # not strftime: its %Y drops the zeros of a year before 1000
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{micros // 1000:03d}Z"
    )
