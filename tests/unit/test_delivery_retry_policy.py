"""The webhook delivery retry decision against the default schedule, with a fixed random source."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from pagewire.dispatch.retry_policy import (
    DEFAULT_SCHEDULE,
    AttemptOutcome,
    Delivered,
    DeliveryRetryPolicy,
    DisableEndpoint,
    GiveUp,
    RetryAt,
    parse_schedule,
)
from pagewire.kernel.retry_after import parse_retry_after

NOW = 1_764_370_000.0
HOUR = 3600.0


class _Extreme(random.Random):
    """Always draws one end of the jitter range, so delays are exact."""

    def __init__(self, end: str = "none") -> None:
        super().__init__(0)
        self.end = end

    def uniform(self, a: float, b: float) -> float:
        return {"low": a, "high": b, "none": 0.0}[self.end]


def exact_policy(**kwargs: object) -> DeliveryRetryPolicy:
    return DeliveryRetryPolicy(rng=_Extreme("none"), **kwargs)  # type: ignore[arg-type]


def failed(status: int | None = 500, *, retry_after: str | None = None) -> AttemptOutcome:
    return AttemptOutcome(status_code=status, retry_after=retry_after)


def http_date(timestamp: float) -> str:
    return format_datetime(datetime.fromtimestamp(timestamp, tz=UTC), usegmt=True)


def test_default_schedule_is_the_documented_one_and_spans_about_three_days() -> None:
    assert DEFAULT_SCHEDULE == (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
    assert 3 * 24 * HOUR <= sum(DEFAULT_SCHEDULE) <= 3.2 * 24 * HOUR
    assert DeliveryRetryPolicy().max_attempts == 10


@pytest.mark.parametrize("status", [200, 201, 202, 204, 299])
def test_any_2xx_is_delivered_even_on_the_last_attempt(status: int) -> None:
    policy = DeliveryRetryPolicy(rng=random.Random(1))
    assert policy.decide(1, failed(status), NOW) == Delivered()
    assert policy.decide(10, failed(status), NOW) == Delivered()


def test_410_gone_disables_the_endpoint_instead_of_retrying() -> None:
    decision = DeliveryRetryPolicy(rng=random.Random(1)).decide(1, failed(410), NOW)
    assert isinstance(decision, DisableEndpoint)
    assert "410" in decision.reason


def test_failed_deliveries_walk_the_whole_default_schedule_then_give_up() -> None:
    policy = exact_policy()
    times = []
    for attempt in range(1, 10):
        decision = policy.decide(attempt, failed(500), NOW)
        assert isinstance(decision, RetryAt)
        times.append(decision.when - NOW)
    assert times == list(DEFAULT_SCHEDULE[1:])

    last = policy.decide(10, failed(500), NOW)
    assert isinstance(last, GiveUp)
    assert "10 attempts" in last.reason and "HTTP 500" in last.reason


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_failures_retried_on_schedule(status: int) -> None:
    assert exact_policy().decide(1, failed(status), NOW) == RetryAt(NOW + 5)


@pytest.mark.parametrize("status", [400, 401, 404, 500, 501])
def test_other_error_statuses_take_the_next_slot(status: int) -> None:
    assert exact_policy().decide(2, failed(status), NOW) == RetryAt(NOW + 300)


@pytest.mark.parametrize("error", ["timeout", "connection refused", "url_not_allowed"])
def test_timeouts_and_connection_errors_take_the_next_slot(error: str) -> None:
    outcome = AttemptOutcome(status_code=None, error=error)
    assert exact_policy().decide(3, outcome, NOW) == RetryAt(NOW + 1800)
    give_up = exact_policy().decide(10, outcome, NOW)
    assert isinstance(give_up, GiveUp) and error in give_up.reason


def test_jitter_stays_within_twenty_percent_of_the_schedule() -> None:
    rng = random.Random(20261128)
    policy = DeliveryRetryPolicy(rng=rng)
    for attempt in range(1, 10):
        delays = []
        for _ in range(200):
            decision = policy.decide(attempt, failed(503), NOW)
            assert isinstance(decision, RetryAt)
            delays.append(decision.when - NOW)
        base = DEFAULT_SCHEDULE[attempt]
        assert min(delays) >= base * 0.8 and max(delays) <= base * 1.2
        assert len(set(delays)) > 100  # spread out, not one fixed value


def test_jitter_bounds_are_exactly_plus_and_minus_twenty_percent() -> None:
    assert DeliveryRetryPolicy(rng=_Extreme("low")).decide(1, failed(), NOW) == RetryAt(NOW + 4)
    assert DeliveryRetryPolicy(rng=_Extreme("high")).decide(1, failed(), NOW) == RetryAt(NOW + 6)


def test_same_seed_gives_the_same_schedule() -> None:
    def run(seed: int) -> list[object]:
        policy = DeliveryRetryPolicy(rng=random.Random(seed))
        return [policy.decide(n, failed(), NOW) for n in range(1, 11)]

    assert run(42) == run(42)
    assert run(42) != run(43)


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retry_after_seconds_pushes_the_next_attempt_later(status: int) -> None:
    decision = exact_policy().decide(1, failed(status, retry_after="120"), NOW)
    assert decision == RetryAt(NOW + 120)


def test_retry_after_http_date_is_honoured() -> None:
    outcome = failed(503, retry_after=http_date(NOW + 600))
    assert exact_policy().decide(1, outcome, NOW) == RetryAt(NOW + 600)


def test_retry_after_never_brings_the_next_attempt_earlier_than_the_schedule() -> None:
    decision = exact_policy().decide(3, failed(429, retry_after="1"), NOW)
    assert decision == RetryAt(NOW + 1800)


def test_retry_after_is_bounded_by_max_retry_after() -> None:
    policy = exact_policy()
    assert policy.decide(1, failed(429, retry_after="999999"), NOW) == RetryAt(NOW + HOUR)
    # ...but the bound never shortens the schedule's own wait.
    assert policy.decide(4, failed(429, retry_after="999999"), NOW) == RetryAt(NOW + 7200)
    tight = exact_policy(max_retry_after=60.0)
    assert tight.decide(1, failed(503, retry_after="120"), NOW) == RetryAt(NOW + 60)


def test_retry_after_is_ignored_on_statuses_that_do_not_mean_later() -> None:
    assert exact_policy().decide(1, failed(500, retry_after="120"), NOW) == RetryAt(NOW + 5)


def test_unreadable_retry_after_falls_back_to_the_schedule() -> None:
    assert exact_policy().decide(1, failed(429, retry_after="soon"), NOW) == RetryAt(NOW + 5)


def test_retry_after_does_not_extend_past_the_last_attempt() -> None:
    decision = exact_policy().decide(10, failed(429, retry_after="60"), NOW)
    assert isinstance(decision, GiveUp)


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        exact_policy().decide(0, failed(), NOW)


def test_a_short_configured_schedule_gives_up_sooner() -> None:
    policy = exact_policy(schedule=parse_schedule("0,1,1,2"))
    assert [policy.decide(n, failed(), NOW) for n in (1, 2, 3)] == [
        RetryAt(NOW + 1),
        RetryAt(NOW + 1),
        RetryAt(NOW + 2),
    ]
    assert isinstance(policy.decide(4, failed(), NOW), GiveUp)


def test_a_schedule_of_one_entry_never_retries() -> None:
    assert isinstance(exact_policy(schedule=(0.0,)).decide(1, failed(), NOW), GiveUp)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0,1,1,2", (0.0, 1.0, 1.0, 2.0)),
        (" 0 , 5 ,300 ", (0.0, 5.0, 300.0)),
        ("0.5", (0.5,)),
        ("0,5,300,1800,7200,18000,36000,50400,72000,86400", DEFAULT_SCHEDULE),
    ],
)
def test_parse_schedule_reads_comma_separated_seconds(
    text: str, expected: tuple[float, ...]
) -> None:
    assert parse_schedule(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("  ", "empty"),
        ("0,,1", "entry 2"),
        ("0,5,soon", r"entry 3 \('soon'\) is not a number"),
        ("0,-1", "entry 2.*zero or more"),
        ("inf", "zero or more"),
        ("nan", "zero or more"),
    ],
)
def test_parse_schedule_explains_bad_input(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(text)


@pytest.mark.parametrize(
    "kwargs",
    [{"schedule": ()}, {"schedule": (0.0, -1.0)}, {"jitter": 1.0}, {"jitter": -0.1},
     {"max_retry_after": -1.0}, {"disable_after": -1.0}],
)  # fmt: skip
def test_policy_refuses_nonsense_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DeliveryRetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        (http_date(NOW + 90), 90.0),
        (http_date(NOW - 90), 0.0),
        ("Fri, 28 Nov 2025 23:00:00 -0000", 800.0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected
