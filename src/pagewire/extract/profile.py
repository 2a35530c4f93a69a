"""What a document looks like, learnt from a bounded sample of its pages.

Heading levels and running headers are document-wide facts, but pages are read
one at a time. So on opening we read a few pages (first pages plus an even spread,
never more than :data:`SAMPLE_PAGES`), note the body font size, the styles of short
lines that stand out (heading candidates), the numbering schemes those use, page
1's title, and the text in the top and bottom margins that repeats; then every page
is judged against that profile.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pagewire.extract.lines import Segment

SAMPLE_PAGES = 8
MARGIN = 0.2  # running headers sit in the top or bottom fifth of the page ...
EDGE_ROWS = 2  # ... and among its first or last two rows of text,
EDGE_REACH = 4  # or a row or two further in, under (over) rows that are running heads too

_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+\S")
# Outline numbering as legal (and many other) documents nest it, outermost first.
# A bare letter or number needs its "." or ")": "A Additional Details" (a paper's
# appendix) and "1 Introduction" are not schemes, and neither is "v." (versus).
SCHEMES = ("roman", "upper", "arabic", "lower", "paren_arabic", "paren_lower", "lower_roman")
_SCHEME = re.compile(
    r"^(?:(?P<roman>[IVX]{1,5})|(?P<upper>[A-Z])|(?P<arabic>\d{1,2})"
    r"|(?P<lower_roman>i{1,3}|iv|vi{1,3}|ix|x)|(?P<lower>[a-uw-z]))[.)]\s+\S"
    r"|^\((?:(?P<paren_roman>i{1,3}|iv|vi{1,3}|ix|x)|(?P<paren_arabic>\d{1,2})"
    r"|(?P<paren_lower>[a-z]))\)\s+\S"
)

# A section's number alone on its line, as court opinions set "I", "A", "II" centred above
# their text: a heading of its own (a scheme without its "."), never a word of the text.
_LONE_MARKER = re.compile(r"^(?:(?P<roman>[IVX]{1,5})|(?P<upper>[A-Z]))\.?$")

# A line that ends its sentence. A closing quote or bracket does only after its stop
# (".\u201d", ".]"): after a word it closes a quoted term mid-sentence ('a "full"' /
# "hearing") or a bracketed one ("[MASK] store [SEP]" / "he bought ...").
SENTENCE_END = re.compile(r"(?:[.!?:;)]|[.!?)\]][\"\u201d\u2019\]]+)$")

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


def numbering_scheme(text: str) -> str | None:
    """The scheme of a heading's number: ``I.`` roman, ``A.`` upper, ``1.`` arabic,
    ``a.``/``(a)`` lower, ``(1)``, ``i.``/``(i)`` lower roman; None if unnumbered."""
    m = _SCHEME.match(text)
    if m is None:
        return None
    kind = m.lastgroup
    return "lower_roman" if kind == "paren_roman" else kind


def lone_scheme(text: str) -> str | None:
    """The scheme of a lone section number (``roman`` or ``upper``), None if it is not one."""
    m = _LONE_MARKER.match(text)
    if m is None:
        return None
    return "roman" if m.group("roman") else "upper"


def opens_section(text: str, previous: str | None) -> bool:
    """``text`` is a lone section number after ``previous`` (the line before, None at the
    top): a section starts after a finished sentence or another number ("I" then "A"),
    where a lone capital after "weights W ∈" is the R (the reals) of a formula."""
    return lone_scheme(text) is not None and (
        previous is None
        or lone_scheme(previous) is not None
        or SENTENCE_END.search(previous) is not None
    )


def is_caps(text: str) -> bool:
    """Upper case as court captions are: "TARRANT ... v. HERRMANN" still counts."""
    if sum(map(str.islower, text[:12])) > 1:
        return False  # the common case, decided cheaply: this runs for every line
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.9 * len(letters)


@dataclass
class Profile:
    body_size: float = 10.0
    heading_styles: list[Style] = field(default_factory=list)  # biggest first
    repeated: set[str] = field(default_factory=set)  # normalised margin texts seen on many pages
    # Whole rows past the edge rows seen on many pages: a running head's third line
    # ("Opinion of the Court" under the case name and the citation).
    inner: set[str] = field(default_factory=set)
    outline: dict[str, int] = field(
        default_factory=dict
    )  # normalised title -> outline depth (0-based)
    has_title: bool = False  # a one-off style bigger than every section heading (a paper title)
    # heading level (from style) -> numbering schemes used at it, in order of first appearance
    schemes: dict[int, tuple[str, ...]] = field(default_factory=dict)
    # the level of page 1's title: its most prominent heading above any numbered one
    # (a paper's title, a court's name), None when none
    title_level: int | None = None

    def is_heading_style(self, size: float, bold: bool) -> bool:
        if size >= self.body_size * 1.12:
            return True
        return bold and size >= self.body_size * 0.95

    def style_level(self, size: float, bold: bool) -> int:
        key = (round(size * 2) / 2, bold)
        bigger = sum(1 for s in self.heading_styles if _style_key(s) > _style_key(key))
        return min(bigger + 1, 6)

    def caps_level(self) -> int:
        """The level of a centred capitals line set in the body's font ("ARGUMENT")."""
        return self.style_level(self.body_size, True)

    def nested_level(self, level: int, scheme: str, *, outline_order: bool = False) -> int:
        """The level of a heading numbered in ``scheme`` whose style gives ``level``.

        Headings that share one style are told apart by their numbering: each scheme
        seen at that level in the sample nests below the ones seen before it
        ("I. Background" > "A. The Test"), and all of them below page 1's title (the
        court's name) when they share its level. A scheme the sample missed ranks
        below the seen ones that precede it in :data:`SCHEMES`; with none seen at that
        level and ``outline_order`` (lone markers: an opinion's "I" then "A"), the schemes
        nest in :data:`SCHEMES`' order.
        """
        seen = self.schemes.get(level, ())
        if scheme in seen:
            rank = seen.index(scheme)
        elif outline_order and not seen:
            rank = SCHEMES.index(scheme)
        else:
            rank = sum(1 for s in seen if SCHEMES.index(s) < SCHEMES.index(scheme))
        top = level if self.title_level is None else max(level, self.title_level + 1)
        return min(top + rank, 6)


def _style_key(style: Style) -> tuple[float, int]:
    return (style[0], int(style[1]))


def _short_line(row: list[Segment]) -> tuple[str, Segment] | None:
    """A row that could be one heading: its text and its (last) segment. A centred
    "I.      Background" splits at its wide gap into a marker and the title."""
    last = row[-1]
    if len(last.words) > 14:
        return None
    if len(row) == 1:
        return last.text, last
    marker = row[0].text
    if len(row) == 2 and len(marker) <= 5 and numbering_scheme(f"{marker} {last.text}"):
        return f"{marker} {last.text}", last
    return None


def edge_zone(
    index: int, count: int, row: list[Segment], height: float, reach: int = EDGE_ROWS
) -> str | None:
    """ "top" or "bottom" when row ``index`` of ``count`` could be a running header/footer:
    among the first (last) ``reach`` rows, in the top (bottom) margin band."""
    if index < reach and row[0].y1 < height * MARGIN:
        return "top"
    if index >= count - reach and row[0].y0 > height * (1 - MARGIN):
        return "bottom"
    return None


class ProfileBuilder:
    def __init__(self) -> None:
        self._sizes: Counter[float] = Counter()
        self._styles: Counter[Style] = Counter()
        self._style_pages: dict[Style, set[int]] = {}
        self._margin: Counter[str] = Counter()
        self._inner: Counter[str] = Counter()
        self._pages = 0
        # Short lines that could be headings, in page order, as (style, whether in
        # centred capitals, then their scheme): the numbered ones of every sampled
        # page, and those of page 1's top half (whether numbered) for its title.
        self._numbered: list[tuple[Style, bool, str]] = []
        self._lead: list[tuple[Style, bool, bool]] = []

    def add_page(self, number: int, rows: list[list[Segment]], height: float) -> None:
        self._pages += 1
        seen: set[str] = set()
        inner: set[str] = set()
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
            elif edge_zone(i, len(rows), row, height, EDGE_REACH):
                inner.add(norm_furniture(" ".join(s.text for s in row)))
        self._margin.update(seen)
        self._inner.update(inner)
        self._note_headings(number, rows, height)

    def _note_headings(self, number: int, rows: list[list[Segment]], height: float) -> None:
        """Numbered short lines (their schemes' order), and page 1's top lines (its title)."""
        if not rows:
            return
        left = min(row[0].x0 for row in rows)
        right = max(row[-1].x1 for row in rows)
        previous: str | None = None
        for row in rows:
            line = _short_line(row)
            before, previous = previous, row[-1].text
            if line is None:
                continue
            text, s = line
            marker = opens_section(text, before)
            scheme = lone_scheme(text) if marker else numbering_scheme(text)
            lead = number == 1 and s.y0 < height / 2 and sum(c.isalpha() for c in text) >= 4
            if scheme is None and not lead:
                continue  # most lines: a sampled page's body
            mid = (row[0].x0 + s.x1) / 2
            centred = abs(mid - (left + right) / 2) < 0.08 * (right - left)
            caps = (is_caps(text) or marker) and centred
            if scheme is not None:
                self._numbered.append(((s.size, s.bold), caps, scheme))
            if lead:
                numbered = scheme is not None or numbering_depth(text) > 0
                self._lead.append(((s.size, s.bold), caps, numbered))

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
        schemes: dict[int, list[str]] = {}
        for style, caps, scheme in self._numbered:
            level = self._heading_level(profile, style, caps)
            if level is not None and scheme not in schemes.setdefault(level, []):
                schemes[level].append(scheme)
        profile.schemes = {level: tuple(seen) for level, seen in schemes.items()}
        # Page 1's most prominent heading above its first numbered one is its title.
        lead: list[int] = []
        for style, caps, numbered in self._lead:
            level = self._heading_level(profile, style, caps)
            if level is not None and numbered:
                break
            if level is not None:
                lead.append(level)
        profile.title_level = min(lead, default=None)
        # Seen on a third of the sampled pages (at least two): one repeated table
        # header word on two pages of a paper is not a running head.
        need = 2 if self._pages <= 4 else max(3, -(-self._pages // 3))
        profile.repeated = {t for t, n in self._margin.items() if n >= need and t}
        profile.inner = {t for t, n in self._inner.items() if n >= need and t}
        return profile

    @staticmethod
    def _heading_level(profile: Profile, style: Style, caps: bool) -> int | None:
        """The level a short line of ``style`` would get as a heading (as blocks judge it)."""
        if profile.is_heading_style(*style):
            return profile.style_level(*style)
        return profile.caps_level() if caps else None
