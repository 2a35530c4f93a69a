"""Reading order: detect a two-column body and read left column, then right, per band.

A page is cut into horizontal *bands* by full-width rows (titles, wide tables,
wide figures' captions); inside a band the left column is read before the right.
This is the XY-cut that LaTeX two-column papers (BERT in the corpus) need, without
guessing on single-column pages, where table rows must stay rows.
"""

from __future__ import annotations

from pagewire.extract.lines import Segment

Line = list[Segment]  # one row's segments inside one column region
Rule = tuple[float, float, float]  # a vertical rule: x, top, bottom

MIN_DIVIDER = 36.0  # points: a rule dividing a caption spans a few lines at least


def reading_order(rows: list[list[Segment]]) -> tuple[list[Line], bool]:
    """Rows (top to bottom) -> lines in reading order, and whether the page had two columns."""
    segments = [s for r in rows for s in r]
    if not segments:
        return [], False
    left = min(s.x0 for s in segments)
    right = max(s.x1 for s in segments)
    width = max(right - left, 1.0)
    gutter = _gutter(segments, left, right, width)
    if gutter is None:
        return [list(r) for r in rows], False
    g0, g1 = gutter
    out: list[Line] = []
    band_left: list[Line] = []
    band_right: list[Line] = []
    for row in rows:
        lside = [s for s in row if s.x1 <= g1]
        rside = [s for s in row if s.x0 >= g0]
        # A segment within the gutter's span (a caption's centred "v." over a two-column
        # counsel block) is on both sides by these tests, and in neither column: its row
        # is read across, in page order, like one that crosses the gutter.
        crossing = len(lside) + len(rside) != len(row)
        spanning_table = (
            lside and rside and len(row) >= 3 and max(s.width for s in row) < 0.25 * width
        )
        if crossing or spanning_table:
            out.extend(band_left)
            out.extend(band_right)
            band_left, band_right = [], []
            out.append(list(row))
            continue
        if lside:
            band_left.append(lside)
        if rside:
            band_right.append(rside)
    out.extend(band_left)
    out.extend(band_right)
    return out, True


def _gutter(
    segments: list[Segment], left: float, right: float, width: float
) -> tuple[float, float] | None:
    mid = (left + right) / 2
    slack = 0.03 * width
    body = [s for s in segments if s.width >= 0.28 * width]
    lefts = [s for s in body if s.x1 <= mid + slack]
    rights = [s for s in body if s.x0 >= mid - slack]
    wide = [s for s in body if s.width >= 0.6 * width]
    if len(lefts) < 4 or len(rights) < 4 or len(wide) > 0.5 * (len(lefts) + len(rights)):
        return None
    g0 = sorted(s.x1 for s in lefts)[int(0.9 * (len(lefts) - 1))]
    g1 = min(s.x0 for s in rights)
    if g1 - g0 < 4:  # no clear gutter: the two "columns" touch, so they are not columns
        return None
    return g0, g1


def divided_rows(rows: list[list[Segment]], rules: list[Rule], width: float) -> list[list[Segment]]:
    """Rows with a caption block's two sides read one after the other.

    A filing's caption sets the parties left of a vertical rule and the case number and
    title right of it; read row by row, the two sides interleave. Where a single rule
    (not a table's grid, not pleading paper's margin lines) divides rows that have text
    on both of its sides, those rows are read left side first, then right side."""
    inner = [r for r in rules if 0.2 * width < r[0] < 0.8 * width and r[2] - r[1] >= MIN_DIVIDER]
    for x, top, bottom in inner:
        if any(o[0] != x and abs(o[0] - x) > 3 and o[1] < bottom and o[2] > top for o in inner):
            continue  # several rules side by side: a ruled table's grid
        band = [
            i for i, row in enumerate(rows) if row[0].y0 >= top - 2 and row[-1].y1 <= bottom + 2
        ]
        if len(band) < 2:
            continue
        segs = [s for i in band for s in rows[i]]
        if any(s.x0 < x < s.x1 for s in segs):
            continue  # text runs across the rule: it divides nothing
        left = [[s for s in rows[i] if s.x1 <= x] for i in band]
        right = [[s for s in rows[i] if s.x0 >= x] for i in band]
        if not any(left) or not any(right):
            continue
        start, end = band[0], band[-1] + 1
        if band != list(range(start, end)):
            continue
        rows = rows[:start] + [r for r in left if r] + [r for r in right if r] + rows[end:]
    return rows
