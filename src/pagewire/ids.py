"""Prefixed, time-sortable identifiers (``job_01J...``): sorting by id sorts by creation."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# Two characters (10 bits) per lookup, 13 lookups spelled out: ids are made several
# times per job, on the hot path.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_lock = threading.Lock()
_last = 0
# Random bytes drawn from the OS 4 KB at a time (a system call per id showed in
# profiles); a forked child starts with a fresh pool so it never repeats the parent's.
_POOL_BYTES = 4000
_pool = b""
_used = 0


def _forget_pool() -> None:
    global _pool, _used
    _pool, _used = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def new_id(prefix: str) -> str:
    """A ULID-style id: 48 bits of milliseconds then 80 random bits, 26 characters.

    Ids made in the same millisecond by one process increase monotonically, so
    ordering by id is submission order (FIFO within a priority).
    """
    global _last, _pool, _used
    with _lock:
        if _used + 10 > len(_pool):
            _pool, _used = os.urandom(_POOL_BYTES), 0
        random_part = int.from_bytes(_pool[_used : _used + 10], "big")
        _used += 10
        value = (int(time.time() * 1000) << 80) | random_part
        if value >> 80 <= _last >> 80:
            value = _last + 1
        _last = value
    p = _PAIRS
    return (
        f"{prefix}_{p[value >> 120]}{p[(value >> 110) & 1023]}{p[(value >> 100) & 1023]}"
        f"{p[(value >> 90) & 1023]}{p[(value >> 80) & 1023]}{p[(value >> 70) & 1023]}"
        f"{p[(value >> 60) & 1023]}{p[(value >> 50) & 1023]}{p[(value >> 40) & 1023]}"
        f"{p[(value >> 30) & 1023]}{p[(value >> 20) & 1023]}{p[(value >> 10) & 1023]}"
        f"{p[value & 1023]}"
    )
