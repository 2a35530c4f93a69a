"""Running headers, footers, page numbers and pleading-paper line numbers.

They are kept out of the body (a page number in the middle of a sentence that
runs across pages is the classic extraction bug) but kept in ``Page.furniture``.
"""

from __future__ import annotations

import re

from pagewire.extract.lines import Segment
from pagewire.extract.profile import (
    EDGE_REACH,
    EDGE_ROWS,
    Profile,
    edge_zone,
    is_caps,
    norm_furniture,
)

# "3", "- 3 -", "Page 3 of 59", "iv" (lower-case only: "I" and "II" are section headings)
_PAGE_NUMBER = re.compile(
    r"^(?:[Pp]age\s*)?[-\u2013\u2014(\[]?\s*(\d{1,4}|[ivxlc]{1,7})\s*[-\u2013\u2014)\]]?"
    r"(?:\s*(?:of|/)\s*\d{1,4})?$"
)
# "Page 3 of 20" says what it is: a page number among the edge rows even when a row
# is set further out (a scan's initials under it), where a bare "3" may be text
_SAYS_PAGE = re.compile(r"^[Pp]age\s*\d")
_LINE_NUMBER = re.compile(r"^\d{1,2}$")
INNER_WORDS = 8  # a running head's further row is a label ("Opinion of the Court")


def split_furniture(
    rows: list[list[Segment]], profile: Profile, width: float, height: float
) -> tuple[list[list[Segment]], list[tuple[str, Segment]]]:
    """Rows without their furniture, and the furniture as (kind, segment)."""
    line_numbers = _line_number_ids(rows, width)
    count = len(rows)
    kinds = [_kinds(i, count, row, profile, height, line_numbers) for i, row in enumerate(rows)]
    _inner_rows(rows, kinds, profile, height)
    furniture: list[tuple[str, Segment]] = []
    kept: list[list[Segment]] = []
    for row, row_kinds in zip(rows, kinds, strict=True):
        rest = [s for s, kind in zip(row, row_kinds, strict=True) if kind is None]
        furniture.extend((kind, s) for s, kind in zip(row, row_kinds, strict=True) if kind)
        if rest:
            kept.append(rest)
    return kept, furniture


def _kinds(
    i: int,
    count: int,
    row: list[Segment],
    profile: Profile,
    height: float,
    line_numbers: set[int],
) -> list[str | None]:
    """Each of row ``i``'s segments' furniture kind, None for body text."""
    zone = edge_zone(i, count, row, height)
    whole_row = zone is not None and (
        norm_furniture(" ".join(s.text for s in row)) in profile.repeated
    )
    kinds: list[str | None] = []
    for s in row:
        kind = None
        if id(s) in line_numbers:
            kind = "line_number"
        elif zone:
            text = s.text.strip()
            if _PAGE_NUMBER.match(text) and (i in (0, count - 1) or _SAYS_PAGE.match(text)):
                kind = "page_number"
            elif whole_row or norm_furniture(s.text) in profile.repeated:
                kind = "header" if zone == "top" else "footer"
        kinds.append(kind)
    return kinds


def _inner_rows(
    rows: list[list[Segment]], kinds: list[list[str | None]], profile: Profile, height: float
) -> None:
    """Mark a running head's further rows ("Opinion of the Court" under a case name and
    a citation): a repeated row past the edge rows, when every row between it and the
    page's edge is furniture already."""
    if not profile.inner:
        return
    count = len(rows)
    for order, kind in ((range(count), "header"), (range(count - 1, -1, -1), "footer")):
        for depth, i in enumerate(order):
            if depth >= EDGE_REACH:
                break
            if all(kinds[i]):
                continue  # furniture already: look one row further in
            if depth < EDGE_ROWS or not _inner_head(rows[i], i, count, profile, height):
                break
            kinds[i] = [kind] * len(rows[i])


def _inner_head(row: list[Segment], i: int, count: int, profile: Profile, height: float) -> bool:
    """A running head's further row: a short label set apart from the body's type (a
    document whose every page opens with the same body sentence, but for its numbers,
    keeps that sentence)."""
    if edge_zone(i, count, row, height, EDGE_REACH) is None:
        return False
    if sum(len(s.words) for s in row) > INNER_WORDS:
        return False
    first, text = row[0], " ".join(s.text for s in row)
    resized = abs(first.size - profile.body_size) > 0.05 * profile.body_size
    if not (resized or first.bold or first.italic or is_caps(text)):
        return False
    return norm_furniture(text) in profile.inner


def _line_number_ids(rows: list[list[Segment]], width: float) -> set[int]:
    # Pleading paper numbers every line 1..28 down the left margin; they only
    # count as furniture when a page has many of them, in a narrow left strip.
    found = [
        row[0]
        for row in rows
        if row[0].x1 < 0.16 * width and _LINE_NUMBER.match(row[0].text) and len(row[0].words) == 1
    ]
    if len(found) < 8:
        return set()
    return {id(s) for s in found}
