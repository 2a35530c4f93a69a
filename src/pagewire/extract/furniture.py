"""Running headers, footers, page numbers and pleading-paper line numbers.

They are kept out of the body (a page number in the middle of a sentence that
runs across pages is the classic extraction bug) but kept in ``Page.furniture``.
"""

from __future__ import annotations

import re

from pagewire.extract.lines import Segment
from pagewire.extract.profile import Profile, edge_zone, norm_furniture

# "3", "- 3 -", "Page 3 of 59", "iv" (lower-case only: "I" and "II" are section headings)
_PAGE_NUMBER = re.compile(
    r"^(?:[Pp]age\s*)?[-\u2013\u2014(\[]?\s*(\d{1,4}|[ivxlc]{1,7})\s*[-\u2013\u2014)\]]?"
    r"(?:\s*(?:of|/)\s*\d{1,4})?$"
)
_LINE_NUMBER = re.compile(r"^\d{1,2}$")


def split_furniture(
    rows: list[list[Segment]], profile: Profile, width: float, height: float
) -> tuple[list[list[Segment]], list[tuple[str, Segment]]]:
    """Rows without their furniture, and the furniture as (kind, segment)."""
    furniture: list[tuple[str, Segment]] = []
    kept: list[list[Segment]] = []
    line_numbers = _line_number_ids(rows, width)
    for i, row in enumerate(rows):
        zone = edge_zone(i, len(rows), row, height)
        whole_row = zone is not None and (
            norm_furniture(" ".join(s.text for s in row)) in profile.repeated
        )
        rest: list[Segment] = []
        for s in row:
            kind = None
            if id(s) in line_numbers:
                kind = "line_number"
            elif zone:
                if i in (0, len(rows) - 1) and _PAGE_NUMBER.match(s.text.strip()):
                    kind = "page_number"
                elif whole_row or norm_furniture(s.text) in profile.repeated:
                    kind = "header" if zone == "top" else "footer"
            if kind:
                furniture.append((kind, s))
            else:
                rest.append(s)
        if rest:
            kept.append(rest)
    return kept, furniture


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
