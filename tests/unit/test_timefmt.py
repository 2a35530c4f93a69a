"""The one time parser (zone-less is UTC) and the one formatter (RFC 3339 UTC, ms)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from pagewire.kernel.timefmt import iso, parse_time

# 2026-11-28T22:00:00Z
TEN_PM = 1795903200.0


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T22:00:00Z",
        "2026-11-28t22:00:00z",  # RFC 3339 allows lower case
        "2026-11-28 22:00:00Z",
        "2026-11-28T22:00:00.000Z",
        "2026-11-28T22:00:00+00:00",
        "2026-11-28T22:00:00-00:00",
        "2026-11-28T23:00:00+01:00",
        "2026-11-28T17:00:00-05:00",
        "2026-11-29T11:45:00+13:45",
        "  2026-11-28T22:00:00Z\n",
    ],
)
def test_a_time_with_z_or_an_offset_is_that_instant(text: str) -> None:
    assert parse_time(text) == TEN_PM


@pytest.mark.usefixtures("server_far_from_utc")
def test_a_time_without_a_zone_is_utc_whatever_the_servers_zone() -> None:
    assert parse_time("2026-11-28T22:00:00") == TEN_PM
    assert parse_time("2026-11-28T22:00") == TEN_PM
    assert parse_time("2026-11-28") == TEN_PM - 22 * 3600


def test_epoch_seconds_are_taken_as_they_are() -> None:
    assert parse_time("1795903200") == TEN_PM
    assert parse_time("1795903200.25") == TEN_PM + 0.25
    assert parse_time(1795903200) == TEN_PM
    assert parse_time(0.5) == 0.5
    assert parse_time("-86400") == -86400.0


@pytest.mark.parametrize("value", [None, "", "   "])
def test_no_time_is_none(value: str | None) -> None:
    assert parse_time(value) is None


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2026-11-28T22:00:00 PST",
        "28/11/2026",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-28T24:00:00Z",
        "2026-11-28T22:00:00+24:00",
        "2026-11-28T22:00:00Zjunk",
        "0x10",
    ],
)
def test_anything_else_is_refused_naming_the_parameter(text: str) -> None:
    with pytest.raises(ValueError, match=r"^created_after must be an RFC 3339 time"):
        parse_time(text, "created_after")


@pytest.mark.parametrize(
    "value",
    [
        "nan",
        "inf",
        "-inf",
        "1e300",
        "-1e15",
        float("inf"),
        1e20,
        "9999-12-31T23:59:59-01:00",  # 10000-01-01 in UTC
        "0001-01-01T00:00:00+01:00",  # the year 0 in UTC
    ],
)
def test_a_time_outside_the_years_1_to_9999_is_out_of_range(value: str | float) -> None:
    with pytest.raises(ValueError, match=r"^since is out of range"):
        parse_time(value, "since")


def test_the_first_and_last_instants_of_the_range_are_accepted_and_written_back() -> None:
    first = parse_time("0001-01-01T00:00:00Z")
    last = parse_time("9999-12-31T23:59:59.999Z")
    assert first is not None and last is not None
    assert iso(first) == "0001-01-01T00:00:00.000Z"
    assert iso(last) == "9999-12-31T23:59:59.999Z"


def test_iso_matches_datetime_to_the_millisecond() -> None:
    rng = random.Random(7)
    stamps = [0.0, 1.0005, 1764374405.9999996, 1764374405.123] + [
        rng.uniform(0, 4e9) for _ in range(5000)
    ]
    for ts in stamps:
        expected = (
            datetime.fromtimestamp(ts, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        assert iso(ts) == expected, ts
    assert iso(None) is None


def test_what_iso_writes_parses_back_to_the_same_millisecond() -> None:
    rng = random.Random(11)
    for ts in [rng.uniform(-1e10, 1e11) for _ in range(1000)]:
        written = iso(ts)
        assert written is not None
        parsed = parse_time(written)
        assert parsed is not None and abs(parsed - ts) < 1e-3, (ts, written)
