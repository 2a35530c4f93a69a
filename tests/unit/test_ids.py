"""Identifiers sort by creation and never repeat, even across a fork."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from pagewire.ids import new_id


def test_ids_are_prefixed_crockford_base32_and_sort_in_creation_order() -> None:
    ids = [new_id("job") for _ in range(2000)]

    assert all(re.fullmatch(r"job_[0-9a-hjkmnp-tv-z]{26}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_an_id_starts_with_its_creation_millisecond() -> None:
    before = int(datetime.now(UTC).timestamp() * 1000)
    value = 0
    for char in new_id("msg")[4:14]:  # 10 characters: the 48-bit time plus 2 zero bits
        value = value * 32 + "0123456789abcdefghjkmnpqrstvwxyz".index(char)
    assert before <= value <= before + 1000


def test_a_forked_child_makes_other_ids_than_its_parent() -> None:
    import os

    new_id("job")  # the parent has random bytes pooled
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(write, ",".join(new_id("job")[-16:] for _ in range(3)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 4096).decode().split(",")
    os.close(read)
    parent = [new_id("job")[-16:] for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)


def test_ids_in_one_millisecond_keep_increasing_across_every_carry(monkeypatch: Any) -> None:
    from pagewire import ids

    frozen = time.time() + 3600.0  # later than any id made so far: a fresh millisecond
    monkeypatch.setattr(ids.time, "time", lambda: frozen)
    for name in ("_ms", "_time_text", "_high", "_low"):  # restored after the test
        monkeypatch.setattr(ids, name, getattr(ids, name))
    first = new_id("job")  # a fresh millisecond: random bits
    half = 1 << 40
    # The random part's low half about to carry into the high half, and the high
    # half about to carry into the millisecond: the last id plus one each time.
    monkeypatch.setattr(ids, "_high", half - 1)
    monkeypatch.setattr(ids, "_low", half - 2)
    made = [first] + [new_id("job") for _ in range(3)]

    def value(i: str) -> int:
        n = 0
        for char in i[4:]:
            n = n * 32 + "0123456789abcdefghjkmnpqrstvwxyz".index(char)
        return n

    assert made == sorted(made) and len(set(made)) == 4
    ms = int(frozen * 1000)
    assert [value(i) for i in made[1:]] == [
        (ms << 80) | (1 << 80) - 1,  # every random bit set
        (ms + 1) << 80,  # carried into the millisecond
        ((ms + 1) << 80) | 1,
    ]
