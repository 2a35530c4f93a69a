"""What a document looks like, learnt from a bounded sample of its pages.

Heading levels and running headers are document-wide facts, but pages are read
one at a time. So on opening we read a few pages (first pages plus an even spread,
never more than :data:`SAMPLE_PAGES`), note the body font size, the styles of short
lines that stand out (heading candidates) and the text in the top and bottom
margins that repeats; then every page is judged against that profile.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pagewire.extract.lines import Segment

SAMPLE_PAGES = 8
MARGIN = 0.2  # running headers sit in the top or bottom fifth of the page ...
EDGE_ROWS = 2  # ... and among its first or last two rows of text

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+\S")

Style = tuple[float, bool]  # (size rounded to half a point, bold)


def norm_furniture(text: str) -> str:
    """Running headers differ only in their page numbers (and dates): compare without digits."""
    return _SPACES.sub(" ", _DIGITS.sub("#", text.lower())).strip()


def norm_title(text: str) -> str:
    text = re.sub(r"^[\dIVXivx]+(\.\d+)*\.?\s+", "", text.strip())
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def numbering_depth(text: str) -> int:
    m = _NUMBERED.match(text)
    return m.group(1).count(".") + 1 if m else 0


@dataclass
class Profile:
    body_size: float = 10.0
    heading_styles: list[Style] = field(default_factory=list)  # biggest first
    repeated: set[str] = field(default_factory=set)  # normalised margin texts seen on many pages
    outline: dict[str, int] = field(
        default_factory=dict
    )  # normalised title -> outline depth (0-based)
    has_title: bool = False  # a one-off style bigger than every section heading (a paper title)

    def is_heading_style(self, size: float, bold: bool) -> bool:
        if size >= self.body_size * 1.12:
            return True
        return bold and size >= self.body_size * 0.95

    def style_level(self, size: float, bold: bool) -> int:
        key = (round(size * 2) / 2, bold)
        bigger = sum(1 for s in self.heading_styles if _style_key(s) > _style_key(key))
        return min(bigger + 1, 6)


def _style_key(style: Style) -> tuple[float, int]:
    return (style[0], int(style[1]))


def edge_zone(index: int, count: int, row: list[Segment], height: float) -> str | None:
    """ "top" or "bottom" when row ``index`` of ``count`` could be a running header/footer."""
    if index < EDGE_ROWS and row[0].y1 < height * MARGIN:
        return "top"
    if index >= count - EDGE_ROWS and row[0].y0 > height * (1 - MARGIN):
        return "bottom"
    return None


class ProfileBuilder:
    def __init__(self) -> None:
        self._sizes: Counter[float] = Counter()
        self._styles: Counter[Style] = Counter()
        self._style_pages: dict[Style, set[int]] = {}
        self._margin: Counter[str] = Counter()
        self._pages = 0

    def add_page(self, number: int, rows: list[list[Segment]], height: float) -> None:
        self._pages += 1
        seen: set[str] = set()
        for i, row in enumerate(rows):
            for s in row:
                for w in s.words:
                    self._sizes[round(w.size * 2) / 2] += len(w.text)
                if len(s.words) <= 14:
                    style = (s.size, s.bold)
                    self._styles[style] += 1
                    self._style_pages.setdefault(style, set()).add(number)
            if edge_zone(i, len(rows), row, height):
                seen.add(norm_furniture(" ".join(s.text for s in row)))
                seen.update(norm_furniture(s.text) for s in row)
        self._margin.update(seen)

    def build(self, outline: dict[str, int]) -> Profile:
        body = self._sizes.most_common(1)[0][0] if self._sizes else 10.0
        profile = Profile(body_size=body, outline=outline)
        styles = [s for s in self._styles if profile.is_heading_style(*s) and s[0] <= body * 4]
        styles.sort(key=_style_key, reverse=True)
        if len(styles) >= 2:
            top = styles[0]
            pages = self._style_pages.get(top, set())
            # A title: the biggest style, used once or twice, only on the first pages.
            profile.has_title = self._styles[top] <= 3 and max(pages, default=99) <= 2
        profile.heading_styles = styles[:8]
        # Seen on a third of the sampled pages (at least two): one repeated table
        # header word on two pages of a paper is not a running head.
        need = 2 if self._pages <= 4 else max(3, -(-self._pages // 3))
        profile.repeated = {t for t, n in self._margin.items() if n >= need and t}
        return profile
