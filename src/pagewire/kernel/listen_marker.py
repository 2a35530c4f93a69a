"""The description that marks a ``pagewire listen`` endpoint, and when it expires.

``pagewire listen <machine> expires <YYYY-MM-DDTHH:MM:SSZ>``: the CLI writes it
(and renews it while the run lives); the CLI's next start and the worker's
retention sweep remove the endpoints whose expiry passed. Both read it with the
same strict pattern, so an endpoint a person described in other words is never
taken for a listen endpoint.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

PREFIX = "pagewire listen "
_MARKER = re.compile(
    r"^pagewire listen (?P<machine>m[0-9a-f]{10}) "
    r"expires (?P<expires>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)$"
)
_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def listen_marker(machine: str, expires_at: float) -> str:
    expires = datetime.fromtimestamp(expires_at, UTC).strftime(_FORMAT)
    return f"{PREFIX}{machine} expires {expires}"


def parse_listen_marker(description: str | None) -> tuple[str, float] | None:
    """``(machine, expires_at)`` of a listen endpoint's description; None for any other."""
    found = _MARKER.match(description or "")
    if found is None:
        return None
    try:
        expires = datetime.strptime(found["expires"], _FORMAT).replace(tzinfo=UTC)
    except ValueError:  # well formed but no such date (month 13)
        return None
    return found["machine"], expires.timestamp()
