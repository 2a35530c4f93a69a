"""Tables from aligned segments: academic whitespace tables and ruled grids alike.

A table is a run of consecutive lines of which several are split into two or
more segments (see :mod:`pagewire.extract.lines`; vertical rules split rows too).
Its columns are the x-intervals of the rows with the most cells; every other
row's segments are placed into the column they overlap most, so a header cell
spanning two numeric columns lands in the first and leaves the second empty.
"""

from __future__ import annotations

from bisect import bisect
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from pagewire.extract.base import BBox
from pagewire.extract.columns import Line
from pagewire.extract.lines import Segment, make_segment
from pagewire.extract.table_headers import attach_group_labels, merge_header_rows
from pagewire.extract.words import Word

MAX_CELL_WORDS = 3  # words of one cell in a row read as one segment (_cells_under)
MAX_WRAPPED_LINES = 2  # a cell's text wrapped onto this many lines below its row


@dataclass(slots=True)
class TableRegion:
    lines: list[Line]
    rows: list[list[str]]
    bbox: BBox


def find_tables(lines: list[Line], text_width: float) -> list[Line | TableRegion]:
    """The lines with each table's run replaced by one :class:`TableRegion`."""
    out: list[Line | TableRegion] = []
    i = 0
    n = len(lines)
    while i < n:
        if len(lines[i]) < 2 or _is_prose_pair(lines[i], text_width):
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        last_multi = i
        split: dict[int, Line] = {}  # lines read as cells only if this run is a table
        while j < n and _close(lines[j - 1], lines[j]):
            above = split.get(j - 1, lines[j - 1])
            if len(lines[j]) == 1 and (cells := _cells_under(lines[j], above)) is not None:
                split[j] = cells
            if len(split.get(j, lines[j])) >= 2:
                last_multi = j
            else:
                # one line between rows (a note, a wrapped label), or a cell's wrapped lines
                wrapped = _in_a_column(lines[j][0], split.get(last_multi, lines[last_multi]))
                if j - last_multi > (MAX_WRAPPED_LINES if wrapped else 1) or (
                    not wrapped and lines[j][0].width > 0.6 * text_width
                ):
                    break
            j += 1
        run = [split.get(k, lines[k]) for k in range(i, last_multi + 1)]
        multi = sum(1 for ln in run if len(ln) >= 2)
        if (multi >= 3 or (multi >= 2 and _aligned(run))) and _columnar(run):
            # A header row whose labels sit closer than a column gap reads as one
            # segment; it still belongs to the table when it sits right on top.
            while out and not isinstance(header := out[-1], TableRegion):
                if not _is_header_above(header, run, text_width):
                    break
                run.insert(0, header)
                out.pop()
            region = _region(run)
            if min(len(r) for r in region.rows) >= 2:
                out.append(region)
            else:  # one column left after all: not a table
                out.extend(run)
            i = last_multi + 1
        else:
            out.append(lines[i])
            i += 1
    return out


def _in_a_column(segment: Segment, row: Line) -> bool:
    """A line inside one of ``row``'s cells beyond its first, however wide: a long cell
    wrapped ("Amended CMO 4 re Master Complaint, Responsive" / "Pleadings, Short ...").
    Only under a row of three cells or more: two wide gaps of justified prose (a
    bibliography's) make two "cells" whose next line is no wrapped cell."""
    if len(row) < 3:
        return False
    starts = [s.x0 for s in row]
    for k in range(1, len(row)):
        last = k + 1 == len(row)
        if starts[k] - 2 <= segment.x0 and (last or segment.x1 <= starts[k + 1]):
            return True
    return False


def _cells_under(line: Line, above: Line) -> Line | None:
    """A one-segment line right under a row of cells, cut at that row's columns when each
    of its words falls within one: a row whose cells sit closer than a column gap (the
    e-mail addresses under an author grid's names) reads as one segment. None when
    the row above has fewer than three cells, a word straddles a column boundary, a
    column gets no word, or either row has more than a cell's few words in a column:
    two wide gaps of justified prose (a bibliography's) are not three columns."""
    if len(above) < 3 or any(len(s.words) > MAX_CELL_WORDS + 1 for s in above):
        return None
    bounds = [(a.x1 + b.x0) / 2 for a, b in pairwise(above)]
    groups: list[list[Word]] = [[] for _ in above]
    for w in line[0].words:
        k = bisect(bounds, (w.x0 + w.x1) / 2)
        if (k > 0 and w.x0 < bounds[k - 1]) or (k < len(bounds) and w.x1 > bounds[k]):
            return None
        groups[k].append(w)
    if any(not g or len(g) > MAX_CELL_WORDS for g in groups):
        return None
    return [make_segment(g) for g in groups]


def _is_header_above(item: Line | TableRegion, run: list[Line], text_width: float) -> bool:
    if isinstance(item, TableRegion) or len(item) != 1 or not _close(item, run[0]):
        return False
    seg = item[0]
    text = seg.text
    if text.endswith(".") or text[:6].lower() in ("table ", "figure") or len(seg.words) < 2:
        return False
    columns = _columns(run)
    hit = {_column_of(w.x0, w.x1, columns) for w in seg.words}
    return len(hit) >= max(2, len(seg.words) // 2)


def _columnar(run: list[Line]) -> bool:
    """Do the cells line up? Justified prose with wide word gaps splits into segments
    too, but its word edges wander from line to line; a table's stay put."""
    multis = [ln for ln in run if len(ln) >= 2]
    # Each cell's left edge, right edge and centre (kinds 0, 1, 2), in 3-point buckets.
    cells = [
        [(round(s.x0 / 3), round(s.x1 / 3), round((s.x0 + s.x1) / 2 / 3)) for s in ln]
        for ln in multis
    ]
    seen: dict[tuple[int, int], set[int]] = {}  # (kind, bucket) -> the lines with one there
    for i, line in enumerate(cells):
        for edges in line:
            for kind, b in enumerate(edges):
                seen.setdefault((kind, b), set()).add(i)
    aligned = total = 0
    for i, line in enumerate(cells):
        for edges in line:
            total += 1
            aligned += _shares_an_edge(edges, i, seen)
    return total > 0 and aligned >= 0.7 * total


def _shares_an_edge(
    edges: tuple[int, int, int], line: int, seen: dict[tuple[int, int], set[int]]
) -> bool:
    """Does another line have a cell edge of one of these kinds in the same or a
    neighbouring bucket?"""
    for kind, bucket in enumerate(edges):
        for near in (bucket - 1, bucket, bucket + 1):
            lines = seen.get((kind, near))
            if lines and (len(lines) > 1 or line not in lines):
                return True
    return False


def _is_prose_pair(line: Line, text_width: float) -> bool:
    # Two wide segments on one line are text across a gutter, not cells.
    return len(line) == 2 and min(s.width for s in line) > 0.35 * text_width


def _close(a: Line, b: Line) -> bool:
    height = max(s.height for s in a)
    return -0.8 * height <= _gap(a, b) <= 1.6 * height


def _gap(a: Line, b: Line) -> float:
    """The blank between line ``a`` and line ``b`` under it (negative: they overlap)."""
    return min(s.y0 for s in b) - max(s.y1 for s in a)


def _aligned(run: list[Line]) -> bool:
    """Two rows make a table only if a cell edge inside the rows lines up: any two
    lines of justified prose share their outer edges, the margins."""
    multis = [ln for ln in run if len(ln) >= 2]
    if len(multis) < 2:
        return False
    left = min(s.x0 for ln in multis for s in ln)
    right = max(s.x1 for ln in multis for s in ln)

    def inner(ln: Line) -> set[int]:
        xs = [s.x0 for s in ln if s.x0 > left + 3] + [s.x1 for s in ln if s.x1 < right - 3]
        return {round(x / 3) for x in xs}

    return len(inner(multis[0]) & inner(multis[1])) >= 1


def _columns(run: list[Line]) -> list[list[float]]:
    widest = max(len(ln) for ln in run)
    anchors = sorted(
        ((s.x0, s.x1) for ln in run if len(ln) == widest for s in ln), key=lambda iv: iv[0]
    )
    columns: list[list[float]] = []
    for x0, x1 in anchors:
        if columns and x0 <= columns[-1][1]:
            columns[-1][1] = max(columns[-1][1], x1)
        else:
            columns.append([x0, x1])
    return columns


def _region(run: list[Line]) -> TableRegion:
    columns = _columns(run)
    rows: list[list[str]] = []
    reach: list[list[tuple[int, int]]] = []  # per cell, the columns its text covers
    for ln in run:
        cells = [""] * len(columns)
        ends = [(k, k) for k in range(len(columns))]
        for s in ln:
            k = _column_of(s.x0, s.x1, columns)
            inside = min(s.x1, columns[k][1]) - max(s.x0, columns[k][0])
            spans = len(s.words) > 1 and inside < 0.6 * s.width
            if spans and _bridges(s, columns):
                # one cell across columns: it lands in the first, as header spans do
                k = next(c for c, (c0, c1) in enumerate(columns) if c1 > s.x0)
                cells[k] = f"{cells[k]} {s.text}".strip()
                ends[k] = _covered(s, columns)
            elif spans:
                # A segment straddling columns (cells closer than a column gap):
                # place its words one by one.
                for w in s.words:
                    kw = _column_of(w.x0, w.x1, columns)
                    cells[kw] = f"{cells[kw]} {w.text}".strip()
            else:
                cells[k] = f"{cells[k]} {s.text}".strip()
                ends[k] = _covered(s, columns)
        rows.append(cells)
        reach.append(ends)
    rows, reach = _fold_wrapped_cells(run, rows, reach)
    keep = [k for k in range(len(columns)) if any(r[k] for r in rows)]
    rows = _merge_wrapped_header([[r[k] for k in keep] for r in rows])
    if len(rows) == len(reach):  # (no wrapped header was folded)
        # keep's positions: a cell's reach counted in kept columns
        kept = [max(sum(1 for j in keep if j <= c) - 1, 0) for c in range(len(columns))]
        kept_reach = [[(kept[e[k][0]], kept[e[k][1]]) for k in keep] for e in reach]
        rows = merge_header_rows(rows, kept_reach)
    rows = attach_group_labels(rows)
    segs = [s for ln in run for s in ln]
    bbox = BBox(
        round(min(s.x0 for s in segs), 1),
        round(min(s.y0 for s in segs), 1),
        round(max(s.x1 for s in segs), 1),
        round(max(s.y1 for s in segs), 1),
    )
    return TableRegion(lines=run, rows=rows, bbox=bbox)


def _covered(segment: Segment, columns: list[list[float]]) -> tuple[int, int]:
    """The first and last columns a header label covers. Labels are centred over the
    columns they group (``BLEU`` over ``EN-DE EN-FR``): the span, at least the columns
    its text overlaps, whose middle is nearest the label's middle."""
    x0, x1 = segment.x0, segment.x1
    # min(x1, c1) - max(x0, c0) > 0, as comparisons: this runs for every cell
    overlapped = [
        c
        for c, (c0, c1) in enumerate(columns)
        if (c1 if c1 < x1 else x1) - (c0 if c0 > x0 else x0) > 0
    ]
    if overlapped:
        first, last = overlapped[0], overlapped[-1]
    else:
        first = last = _column_of(segment.x0, segment.x1, columns)
    centre = (segment.x0 + segment.x1) / 2
    unit = (columns[-1][1] - columns[0][0]) / len(columns)  # one column's width, about
    # min(spans, key=distance of the middles + a little per column), as a loop
    best: tuple[int, int] | None = None
    best_cost = 0.0
    for a in range(max(first - 2, 0), first + 1):
        for b in range(last, min(last + 3, len(columns))):
            cost = abs(centre - (columns[a][0] + columns[b][1]) / 2) + 0.02 * unit * (b - a)
            if best is None or cost < best_cost:
                best, best_cost = (a, b), cost
    assert best is not None  # (a and b always have a value each)
    return best


def _bridges(segment: Segment, columns: list[list[float]]) -> bool:
    """A word sitting in the gap between two columns ties the segment into one cell
    spanning them ("3.3 · 10<sup>18</sup>" centred under two columns), which must not be
    cut in two; cells merely set closer than a column gap have none there."""
    for w in segment.words:
        centre = (w.x0 + w.x1) / 2
        if not any(c0 <= centre <= c1 for c0, c1 in columns) and columns[0][0] < centre:
            return centre < columns[-1][1]
    return False


def _fold_wrapped_cells(
    run: list[Line], rows: list[list[str]], reach: list[list[tuple[int, int]]]
) -> tuple[list[list[str]], list[list[tuple[int, int]]]]:
    """A line holding only the rest of the cell above it, set tighter than rows are apart
    (a docket entry's text wrapped in its column), joins that cell instead of making a
    row of its own. Where rows sit as tight as wrapped lines, nothing tells them apart:
    the line stays a row."""
    gaps = [_gap(a, b) for a, b in pairwise(run) if len(a) >= 2 and len(b) >= 2]
    if not gaps:
        return rows, reach
    row_gap = median(gaps)
    kept_rows, kept_reach = [rows[0]], [reach[0]]
    for i in range(1, len(run)):
        filled = [k for k, c in enumerate(rows[i]) if c]
        above = kept_rows[-1]
        gap = _gap(run[i - 1], run[i])
        if (
            len(run[i]) == 1
            and len(filled) == 1
            and filled[0] > 0
            and above[filled[0]]
            and sum(1 for c in above if c) >= 2
            and gap < 0.5 * row_gap
        ):
            k = filled[0]
            above[k] = f"{above[k]} {rows[i][k]}"
            continue
        kept_rows.append(rows[i])
        kept_reach.append(reach[i])
    return kept_rows, kept_reach


def _merge_wrapped_header(rows: list[list[str]]) -> list[list[str]]:
    """Fold a second row that only continues header cells ("Sequential" / "Operations")."""
    if len(rows) < 3:
        return rows
    head, nxt = rows[0], rows[1]
    filled = [k for k, c in enumerate(nxt) if c]
    wraps = (
        filled
        and len(filled) <= len(nxt) // 2
        and all(head[k] and not any(ch.isdigit() for ch in nxt[k]) for k in filled)
    )
    if not wraps:
        return rows
    merged = [f"{h} {n}".strip() for h, n in zip(head, nxt, strict=True)]
    return [merged, *rows[2:]]


def _column_of(x0: float, x1: float, columns: list[list[float]]) -> int:
    best, best_overlap = 0, -1.0
    for k, (c0, c1) in enumerate(columns):
        overlap = (c1 if c1 < x1 else x1) - (c0 if c0 > x0 else x0)  # min(x1, c1) - max(x0, c0)
        if overlap > best_overlap:
            best, best_overlap = k, overlap
    if best_overlap > 0:
        return best
    centre = (x0 + x1) / 2
    return min(range(len(columns)), key=lambda k: abs((columns[k][0] + columns[k][1]) / 2 - centre))


def table_markdown(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    width = max(len(r) for r in rows)

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = []
    header = rows[0] + [""] * (width - len(rows[0]))
    lines.append("| " + " | ".join(cell(c) for c in header) + " |")
    lines.append("|" + "|".join(" --- " for _ in range(width)) + "|")
    for r in rows[1:]:
        r = r + [""] * (width - len(r))
        lines.append("| " + " | ".join(cell(c) for c in r) + " |")
    return "\n".join(lines)
