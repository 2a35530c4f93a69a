"""Words -> rows -> segments.

A *row* is every word sharing a baseline band across the page; a *segment* is a
run of a row's words with no wide gap in it. A body line in one column is one
segment; a table row or a line crossing a two-column gutter is several. Grouping
by geometry rather than by content-stream order keeps superscripts, late-drawn
footnote marks and producers that paint words out of order on their line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from operator import attrgetter

from pagewire.extract.scripts import mark_row
from pagewire.extract.words import Word

# Sort keys in C (attrgetter), not lambdas: every page sorts all of its words.
_BY_BOTTOM_THEN_LEFT = attrgetter("y1", "x0")
_BY_LEFT = attrgetter("x0")

# A gap wider than this many font sizes splits a row: justified word spaces stay
# well under half an em, table column gaps (LaTeX's 2 x tabcolsep, cell padding of
# ruled tables) and column gutters are an em or more.
SEGMENT_GAP_EM = 1.0
SUBSCRIPT_DROP = 0.25  # of a word's height: how far its subscript reaches below its line


@dataclass(slots=True)
class Span:
    """Text set on one line: its box in PDF points (origin top-left), size and weight."""

    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass(slots=True)
class Segment(Span):
    words: list[Word]
    italic: bool
    text: str = ""
    hyphen: bool = False  # ends with a soft line-end hyphen
    extra: dict[str, object] = field(default_factory=dict)


def make_segment(words: list[Word]) -> Segment:
    # Plain loops, not Counter: this runs for every line of every page.
    chars: dict[float, int] = {}
    bold_chars = italic_chars = total = 0
    x0 = y0 = 1e9
    x1 = y1 = -1e9
    for w in words:
        n = len(w.text)
        size = w.size
        if size in chars:
            chars[size] += n
        else:
            chars[size] = n
        total += n
        if w.bold:
            bold_chars += n
        if w.italic:
            italic_chars += n
        if w.x0 < x0:
            x0 = w.x0
        if w.y0 < y0:
            y0 = w.y0
        if w.x1 > x1:
            x1 = w.x1
        if w.y1 > y1:
            y1 = w.y1
    # (one size, the common case: the key max() would return, without the call)
    size = max(chars, key=chars.__getitem__) if len(chars) > 1 else words[0].size
    return Segment(
        words=words,
        x0=x0,
        y0=y0,
        x1=x1,
        y1=y1,
        size=round(size * 2) / 2,
        # A line counts as bold when nearly all of it is, so one bold word in a
        # sentence does not make a heading.
        bold=bold_chars >= 0.8 * total,
        italic=italic_chars >= 0.8 * total,
        text=" ".join([w.text for w in words]),
        hyphen=words[-1].hyphen,
    )


def rows_of(words: list[Word]) -> list[list[Word]]:
    """Group words into rows by vertical overlap, each row sorted left to right."""
    if not words:
        return []
    ordered = sorted(words, key=_BY_BOTTOM_THEN_LEFT)
    rows: list[list[Word]] = []
    first = ordered[0]
    row: list[Word] = [first]
    base = first.y1
    height = max(first.y1 - first.y0, 1.0)
    for w in ordered[1:]:
        h = w.y1 - w.y0
        # A word ending in a subscript ("BERT<sub>BASE</sub>") reaches below its baseline.
        bottom = w.y1 - SUBSCRIPT_DROP * h if "<sub>" in w.text else w.y1
        # Same row when the bottoms (about the baseline) sit within a third of a
        # line: subscripts and superscripts stay, the next line does not.
        if abs(bottom - base) <= 0.35 * (h if h > height else height):
            row.append(w)
            if h > height:
                height = h
        else:
            rows.append(row)
            row = [w]
            base = w.y1
            height = max(h, 1.0)
    rows.append(row)
    for r in rows:
        r.sort(key=_BY_LEFT)
    return [mark_row(r) for r in _merge_raised(rows)]


def _merge_raised(rows: list[list[Word]]) -> list[list[Word]]:
    """Fold rows of small raised or lowered words (footnote marks, sub/superscripts)
    into the neighbouring row they overlap: a superscript sorts just above its line."""
    out: list[list[Word]] = []
    i = 0
    while i < len(rows):
        r = rows[i]
        if len(r) <= 3 and all(len(w.text) <= 4 for w in r):
            size = max(w.size for w in r)
            for other in (rows[i + 1] if i + 1 < len(rows) else None, out[-1] if out else None):
                if other and size < 0.85 * max(w.size for w in other) and _overlaps_y(r, other):
                    other.extend(r)
                    other.sort(key=_BY_LEFT)
                    break
            else:
                out.append(r)
            i += 1
            continue
        out.append(r)
        i += 1
    return out


def _overlaps_y(a: list[Word], b: list[Word]) -> bool:
    return min(w.y1 for w in a) > min(w.y0 for w in b) and max(w.y0 for w in a) < max(
        w.y1 for w in b
    )


_MARKER = re.compile(r"^(?:[•●◦▪■□‣\u2043∙·\-\u2013*\uf0b7\uf0a7]|\(?(?:\d{1,3}|[a-z])[.)])$")


def _justified(row: list[Word]) -> bool:
    """A justified line stretches every space by the same amount; a table row's gaps
    differ from cell to cell. Equal wide gaps are prose, however wide."""
    if len(row) < 4:
        return False
    gaps = [b.x0 - a.x1 for a, b in pairwise(row)]
    low, high = min(gaps), max(gaps)
    return low > 0 and high - low < max(1.0, 0.12 * low)


def split_row(row: list[Word], cuts: tuple[float, ...] = ()) -> list[Segment]:
    """Split a row at wide gaps and at the x positions of vertical rules."""
    justified = not cuts and _justified(row)
    if justified:  # no gap is wide and there is nothing to cut at: one segment
        return [make_segment(list(row))]
    segments: list[Segment] = []
    current = [row[0]]
    for prev, w in pairwise(row):
        gap = w.x0 - prev.x1
        size = prev.size if prev.size > w.size else w.size
        wide = gap > SEGMENT_GAP_EM * (size if size > 4.0 else 4.0)
        if wide and prev is row[0] and _MARKER.match(prev.text):
            wide = False  # "•      text": a list item's hanging indent, not a cell
        if wide or (cuts and gap > 1.0 and any(prev.x1 - 1 <= c <= w.x0 + 1 for c in cuts)):
            segments.append(make_segment(current))
            current = [w]
        else:
            current.append(w)
    segments.append(make_segment(current))
    return segments
