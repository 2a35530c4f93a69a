"""Prefixed, time-sortable identifiers (``job_01J...``): sorting by id sorts by creation."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
# Two characters (10 bits) per lookup: ids are made several times per job and once
# per webhook attempt, on the hot path.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_HALF = 1 << 40
_lock = threading.Lock()
# The last id's millisecond (spelled: its 10 characters) and its 80 random bits, in
# two halves of 40 bits: small integers, where one of 128 bits made every shift and
# mask a long-integer operation, a large share of an id's cost.
_ms = 0
_time_text = ""
_high = 0
_low = 0
# Random bytes drawn from the OS 4 KB at a time (a system call per id showed in
# profiles); a forked child starts with a fresh pool so it never repeats the parent's.
_POOL_BYTES = 4000
_pool = b""
_used = 0


def _forget_pool() -> None:
    global _pool, _used
    _pool, _used = b"", 0


os.register_at_fork(after_in_child=_forget_pool)


def _spell_time(ms: int) -> str:
    p = _PAIRS
    return (
        f"{p[ms >> 40]}{p[(ms >> 30) & 1023]}{p[(ms >> 20) & 1023]}"
        f"{p[(ms >> 10) & 1023]}{p[ms & 1023]}"
    )


def new_id(prefix: str) -> str:
    """A ULID-style id: 48 bits of milliseconds then 80 random bits, 26 characters.

    Ids made in the same millisecond by one process increase monotonically (the
    last id plus one), so ordering by id is submission order (FIFO within a priority).
    """
    global _ms, _time_text, _high, _low, _pool, _used
    with _lock:
        ms = int(time.time() * 1000)
        if ms > _ms:
            if _used + 10 > len(_pool):
                _pool, _used = os.urandom(_POOL_BYTES), 0
            _high = int.from_bytes(_pool[_used : _used + 5], "big")
            _low = int.from_bytes(_pool[_used + 5 : _used + 10], "big")
            _used += 10
            _ms, _time_text = ms, _spell_time(ms)
        else:  # the same millisecond, or the clock went back: the last id plus one
            _low += 1
            if _low == _HALF:
                _low, _high = 0, _high + 1
                if _high == _HALF:
                    _high, _ms = 0, _ms + 1
                    _time_text = _spell_time(_ms)
        high, low, time_text = _high, _low, _time_text
    p = _PAIRS
    return (
        f"{prefix}_{time_text}{p[high >> 30]}{p[(high >> 20) & 1023]}{p[(high >> 10) & 1023]}"
        f"{p[high & 1023]}{p[low >> 30]}{p[(low >> 20) & 1023]}{p[(low >> 10) & 1023]}"
        f"{p[low & 1023]}"
    )
