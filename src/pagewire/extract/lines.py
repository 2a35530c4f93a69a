"""Words -> rows -> segments.

A *row* is every word sharing a baseline band across the page; a *segment* is a
run of a row's words with no wide gap in it. A body line in one column is one
segment; a table row or a line crossing a two-column gutter is several. Grouping
by geometry rather than by content-stream order keeps superscripts, late-drawn
footnote marks and producers that paint words out of order on their line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise

from pagewire.extract.words import Word

# A gap wider than this many font sizes splits a row: justified word spaces stay
# well under half an em, table column gaps (LaTeX's 2 x tabcolsep, cell padding of
# ruled tables) and column gutters are an em or more.
SEGMENT_GAP_EM = 1.0


@dataclass(slots=True)
class Segment:
    words: list[Word]
    x0: float
    y0: float
    x1: float
    y1: float
    size: float
    bold: bool
    italic: bool
    text: str = ""
    hyphen: bool = False  # ends with a soft line-end hyphen
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def make_segment(words: list[Word]) -> Segment:
    chars: Counter[float] = Counter()
    bold_chars = italic_chars = total = 0
    for w in words:
        n = len(w.text)
        chars[round(w.size * 2) / 2] += n
        total += n
        bold_chars += n if w.bold else 0
        italic_chars += n if w.italic else 0
    text = " ".join(w.text for w in words)
    return Segment(
        words=words,
        x0=min(w.x0 for w in words),
        y0=min(w.y0 for w in words),
        x1=max(w.x1 for w in words),
        y1=max(w.y1 for w in words),
        size=chars.most_common(1)[0][0],
        # A line counts as bold when nearly all of it is, so one bold word in a
        # sentence does not make a heading.
        bold=bold_chars >= 0.8 * total,
        italic=italic_chars >= 0.8 * total,
        text=text,
        hyphen=words[-1].hyphen,
    )


def rows_of(words: list[Word]) -> list[list[Word]]:
    """Group words into rows by vertical overlap, each row sorted left to right."""
    if not words:
        return []
    ordered = sorted(words, key=lambda w: (w.y1, w.x0))
    rows: list[list[Word]] = []
    row: list[Word] = [ordered[0]]
    base = ordered[0].y1
    height = ordered[0].height
    for w in ordered[1:]:
        # Same row when the bottoms (about the baseline) sit within a third of a
        # line: subscripts and superscripts stay, the next line does not.
        if abs(w.y1 - base) <= 0.35 * max(height, w.height, 1.0):
            row.append(w)
            if w.height > height:
                height = w.height
        else:
            rows.append(row)
            row = [w]
            base = w.y1
            height = w.height
    rows.append(row)
    for r in rows:
        r.sort(key=lambda w: w.x0)
    return _merge_raised(rows)


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
                    other.sort(key=lambda w: w.x0)
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


def split_row(row: list[Word], cuts: tuple[float, ...] = ()) -> list[Segment]:
    """Split a row at wide gaps and at the x positions of vertical rules."""
    segments: list[Segment] = []
    current = [row[0]]
    for prev, w in pairwise(row):
        gap = w.x0 - prev.x1
        size = max(prev.size, w.size, 4.0)
        ruled = any(prev.x1 - 1 <= c <= w.x0 + 1 for c in cuts)
        if gap > SEGMENT_GAP_EM * size or (ruled and gap > 1.0):
            segments.append(make_segment(current))
            current = [w]
        else:
            current.append(w)
    segments.append(make_segment(current))
    return segments
