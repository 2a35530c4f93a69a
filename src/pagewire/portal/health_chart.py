"""An endpoint's delivery health as a picture: attempts per hour, stacked by outcome.

The geometry is worked out here and drawn by ``templates/_health_chart.html`` as
inline SVG: no script (the portal's CSP allows none), no image request, and what it
shows is in its ``<desc>`` and in each bar's ``<title>`` for those who cannot see it.
Colours are SVG attributes, not ``style``: the CSP allows no inline style either.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from pagewire.models import DeliveryHealth

HOUR = 3600.0
WIDTH, HEIGHT = 960, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 44, 46  # room for the y labels, the legend, the days


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    ok_y: float  # the succeeded part, at the bottom
    ok_height: float
    bad_y: float  # the failed part, stacked on it
    bad_height: float
    label: str  # "2026-12-01 14:00 UTC: 5 succeeded, 1 failed"


@dataclass(frozen=True)
class Tick:
    at: float  # x or y, in the picture's units
    label: str


@dataclass(frozen=True)
class HealthChart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    top: int
    bottom: int  # y of the x axis
    bars: tuple[Bar, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    succeeded: int
    failed: int
    p50: str  # "12 ms", or "—" with nothing timed
    p99: str


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... that is at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1
    scale: int = 10 ** int(math.log10(value))
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)


def milliseconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def hour_label(start: float) -> str:
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:00 UTC")


def health_chart(health: DeliveryHealth) -> HealthChart:
    plot_width = WIDTH - LEFT - RIGHT
    bottom = HEIGHT - BOTTOM
    plot_height = bottom - TOP
    slots = max(1, round((health.until - health.since) / HOUR))
    slot = plot_width / slots
    y_max = nice_ceiling(max((h.succeeded + h.failed for h in health.hours), default=0))

    def y(count: float) -> float:
        return bottom - plot_height * count / y_max

    bars = []
    for hour in health.hours:
        x = LEFT + slot * round((hour.start - health.since) / HOUR)
        ok_top, bad_top = y(hour.succeeded), y(hour.succeeded + hour.failed)
        label = f"{hour_label(hour.start)}: {hour.succeeded} succeeded, {hour.failed} failed"
        bars.append(
            Bar(
                round(x + slot * 0.1, 2),
                round(max(slot * 0.8, 1.0), 2),
                round(ok_top, 2),
                round(bottom - ok_top, 2),
                round(bad_top, 2),
                round(ok_top - bad_top, 2),
                label,
            )
        )
    y_ticks = tuple(Tick(round(y(v), 2), str(v)) for v in sorted({0, y_max // 2, y_max}))
    days = []
    midnight = math.ceil(health.since / 86400) * 86400
    while midnight < health.until:
        x = LEFT + slot * (midnight - health.since) / HOUR
        days.append(Tick(round(x, 2), datetime.fromtimestamp(midnight, UTC).strftime("%a %d %b")))
        midnight += 86400
    return HealthChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=LEFT + plot_width,
        top=TOP,
        bottom=bottom,
        bars=tuple(bars),
        y_ticks=y_ticks,
        x_ticks=tuple(days),
        succeeded=sum(h.succeeded for h in health.hours),
        failed=sum(h.failed for h in health.hours),
        p50=milliseconds(health.p50_ms),
        p99=milliseconds(health.p99_ms),
    )
