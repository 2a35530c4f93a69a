"""The health chart's layout: each hour's bar in its slot, heights in proportion."""

from __future__ import annotations

from pagewire.models import DeliveryHealth, HourOfAttempts
from pagewire.portal.health_chart import LEFT, health_chart, nice_ceiling

HOUR = 3600.0
UNTIL = 1_800_003_600.0  # an hour boundary (Fri 15 Jan 2027 09:00 UTC)


def week(*hours: HourOfAttempts, p50: float | None = None) -> DeliveryHealth:
    return DeliveryHealth(UNTIL - 7 * 86400, UNTIL, hours, p50, p50, 1 if p50 else 0)


def test_each_hour_is_drawn_in_its_slot_with_its_outcomes_stacked() -> None:
    chart = health_chart(
        week(
            HourOfAttempts(UNTIL - 168 * HOUR, 2, 0),  # the first hour shown
            HourOfAttempts(UNTIL - HOUR, 3, 1),  # the current one
            p50=12.4,
        )
    )

    first, last = chart.bars
    slot = (chart.right - LEFT) / 168
    assert first.x < LEFT + slot and last.x > chart.right - slot  # far left, far right
    assert 2 * last.ok_height == 3 * first.ok_height and first.bad_height == 0
    assert last.bad_y + last.bad_height == last.ok_y  # failed sits on succeeded
    assert last.ok_y + last.ok_height == chart.bottom
    assert [t.label for t in chart.y_ticks] == ["0", "2", "5"]  # 4 attempts: axis to 5
    assert len(chart.x_ticks) == 7 and chart.x_ticks[0].label == "Sat 09 Jan"
    assert (chart.succeeded, chart.failed, chart.p50) == (5, 1, "12 ms")
    assert "2027-01-15 08:00 UTC: 3 succeeded, 1 failed" == last.label


def test_an_idle_week_draws_empty_axes() -> None:
    chart = health_chart(week())

    assert chart.bars == () and chart.p50 == chart.p99 == "—"
    assert [t.label for t in chart.y_ticks] == ["0", "1"]


def test_axis_tops_are_round_numbers() -> None:
    assert [nice_ceiling(n) for n in (0, 1, 3, 7, 10, 11, 180, 2001)] == [
        1,
        1,
        5,
        10,
        10,
        20,
        200,
        5000,
    ]
