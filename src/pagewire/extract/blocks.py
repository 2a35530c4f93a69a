"""Lines in reading order -> blocks: paragraphs, headings with levels, list items, captions.

Paragraph breaks are read from the geometry a reader uses: extra vertical space,
a first-line indent, a short last line ending a sentence, a change of style. Lines
are joined with pdfium's soft-hyphen marks (exact de-hyphenation) and hard
hyphens kept ("encoder-" + "decoder" -> "encoder-decoder").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import pairwise
from operator import attrgetter
from statistics import median

from pagewire.extract.base import BBox
from pagewire.extract.columns import Line
from pagewire.extract.hyphens import keeps_hyphen, vocabulary
from pagewire.extract.lines import Segment, Span
from pagewire.extract.profile import (
    SENTENCE_END,
    Profile,
    is_caps,
    lone_scheme,
    norm_title,
    numbering_depth,
    numbering_scheme,
    opens_section,
)
from pagewire.extract.wordlike import garbled

# \uf0b7 and \uf0a7: the Symbol and Wingdings bullets Word leaves in PDFs' private use area
_BULLET = re.compile(r"^([•●◦▪■□‣\u2043∙·\-\u2013*\uf0b7\uf0a7])\s+(?=\S)")
# "1.", "2)", "a.", "iv)", "(a)", "(A)", "(12)"; never "Y." (an initial) or "No.", nor
# the "v." of a case name that a line break put first ("Hernandez Roman, et al." /
# "v. Wolf, et al."): in filings that is far more common than a fifth Roman item.
_NUMBERED_ITEM = re.compile(
    r"^(?!v\.\s+[A-Z])"
    r"((?:\d{1,3}|[a-z]|[ivx]{1,5})[.)]|\((?:\d{1,3}|[a-zA-Z]|[ivxIVX]{1,5})\))\s+(?=\S)"
)
_CAPTION = re.compile(r"^(Table|Figure|Fig\.|Exhibit)\s+[\dA-Z]+[.:]?", re.IGNORECASE)
_SECTION_NUMBER = re.compile(r"^(?:[IVX]{1,5}|[A-Z]|\d{1,2}(?:\.\d{1,2})*)[.)]?\s+\S")
# A short all-caps marker ("WO", "NOT FOR PUBLICATION" is longer); never a Roman numeral
_DOCKET_MARKER = re.compile(r"^(?![IVXL]+\.?$)[A-Z]{1,3}$")
# A caption's "v." alone on its line, between the parties: never part of either
_VERSUS = re.compile(r"^(?:v|vs)\.?$", re.IGNORECASE)
# A display equation's number set apart at the right margin: "(1)", "(12a)"
_EQUATION_NUMBER = re.compile(r"^\(\d{1,3}[a-z]?\)$")
# Abbreviations a line ends on mid-sentence: a caption's "RIVAS, et al.", "Smith v."
_RUNS_ON = re.compile(r"(?:\bet al|\bv|\bvs)\.$")
FAR = 3.0  # sizes of blank beyond the leading: nothing carries a paragraph across that
_EMAIL = re.compile(r"[\w}]@[\w\-]+\.\w")  # "avaswani@google.com", "{a,b}@google.com"
# Getters for min/max over a block's lines, which map runs in C (a genexpr costs 2-3x):
# every line is compared with the block so far, so these run for every line many times.
_X0, _Y0, _X1, _Y1 = attrgetter("x0"), attrgetter("y0"), attrgetter("x1"), attrgetter("y1")


@dataclass(slots=True)
class TextLine(Span):
    """One line of a column, from its segments: their text and box, the longest one's
    size, bold (italic) if all are. ``tag``: a display equation's number, set apart at
    the line's right end and kept out of ``text`` (the block puts it after the rows of
    its equation)."""

    text: str
    hyphen: bool
    italic: bool = False
    tag: str = ""


@dataclass(slots=True)
class RawBlock:
    kind: str
    text: str
    bbox: BBox
    level: int | None = None
    marker: str | None = None  # list marker as printed ("•", "1.", "(a)")
    # The first line's font size and the step from its top to the next line's (0: one
    # line): what tells small print (footnotes) from the body it sits under.
    size: float = 0.0
    pitch: float = 0.0


def text_line(line: Line) -> TextLine:
    if len(line) == 1:  # most lines: the segment's own values, without the sort and scans
        s = line[0]
        return TextLine(
            text=s.text,
            x0=s.x0,
            y0=s.y0,
            x1=s.x1,
            y1=s.y1,
            size=s.size,
            bold=s.bold,
            hyphen=s.hyphen,
            italic=s.italic,
        )
    sizes = sorted(line, key=lambda s: len(s.text), reverse=True)
    text_segments: list[Segment] = line
    tag = ""
    if _EQUATION_NUMBER.match(line[-1].text):
        text_segments, tag = line[:-1], line[-1].text
    return TextLine(
        text=" ".join(s.text for s in text_segments),
        x0=min(s.x0 for s in line),
        y0=min(s.y0 for s in line),
        x1=max(s.x1 for s in line),
        y1=max(s.y1 for s in line),
        size=sizes[0].size,
        bold=all(s.bold for s in line),
        hyphen=line[-1].hyphen,
        italic=all(s.italic for s in line),
        tag=tag,
    )


def build_blocks(lines: list[TextLine], profile: Profile, page_width: float) -> list[RawBlock]:
    if not lines:
        return []
    lead = _typical_gap(lines)
    col_width = max(map(_X1, lines)) - min(map(_X0, lines))
    groups: list[list[TextLine]] = [[lines[0]]]
    markers = {
        id(cur)
        for prev, cur in pairwise([None, *lines])
        if cur is not None
        and opens_section(cur.text, prev.text if prev else None)
        and _centred(cur, page_width)
    }
    apart = markers | {id(ln) for ln in lines if _VERSUS.match(ln.text)}
    for prev, cur in pairwise(lines):
        if (
            id(prev) in apart
            or id(cur) in apart
            or _breaks(groups[-1], prev, cur, lead, col_width, profile)
        ):
            groups.append([cur])
        else:
            groups[-1].append(cur)
    words = _Vocabulary(lines)
    blocks = [_classify(g, profile, page_width, words, marker=id(g[0]) in markers) for g in groups]
    _demote(blocks)
    first = blocks[0]
    if first.kind == "heading" and _DOCKET_MARKER.match(first.text):
        # "WO" alone atop a filing: a clerk's docket marker, not the document's title
        blocks[0] = replace(first, kind="paragraph", level=None)
    return blocks


def _demote(blocks: list[RawBlock]) -> None:
    """Headings that do not read as words (an OCR layer's initials and signatures,
    wordlike.py) become paragraphs: their text stays, out of the outline. So does a
    caption's lone "v.", which joins two parties and heads nothing."""
    found: set[str] | None = None

    def page_words() -> set[str]:
        nonlocal found
        if found is None:
            found = vocabulary(b.text for b in blocks if b.kind != "heading")
        return found

    for k, b in enumerate(blocks):
        if b.kind == "heading" and (_VERSUS.match(b.text) or garbled(b.text, page_words)):
            blocks[k] = replace(b, kind="paragraph", level=None)


def _centred(line: TextLine, page_width: float) -> bool:
    return abs((line.x0 + line.x1) / 2 - page_width / 2) < 0.08 * page_width


def _typical_gap(lines: list[TextLine]) -> float:
    gaps = [
        b.y0 - a.y1
        for a, b in pairwise(lines)
        if 0 <= b.y0 - a.y1 < 3 * a.size and abs(a.size - b.size) < 0.5
    ]
    return median(gaps) if gaps else 2.0


def _breaks(
    block: list[TextLine],
    prev: TextLine,
    cur: TextLine,
    lead: float,
    col_width: float,
    profile: Profile,
) -> bool:
    if _BULLET.match(cur.text) or _CAPTION.match(cur.text):
        return True
    if _NUMBERED_ITEM.match(cur.text):
        # "... and Ryan" / "Y. Park": a full line stopping mid-sentence is continued
        # by the next one even when that one happens to start like a list marker.
        short = prev.x1 < max(max(map(_X1, block)), cur.x1) - 0.08 * col_width
        in_list = bool(_NUMBERED_ITEM.match(block[0].text) or _BULLET.match(block[0].text))
        if short or in_list or SENTENCE_END.search(prev.text):
            return True
    if abs(cur.size - prev.size) > 0.08 * prev.size:
        return True
    if cur.bold != prev.bold:
        # A bold line is a heading when it is short; a full bold line inside a
        # paragraph is emphasis ("Bidirectional Encoder Representations from"), and so
        # is a short bold run when a full line's (or a clause's) unfinished sentence
        # goes on in lower case ("complied with orders to drop" / "the crowbar, ...").
        edge = max(max(map(_X1, block)), cur.x1) - 0.1 * col_width
        bold_line = prev if prev.bold else cur
        if _stops(prev.text):
            return True
        carried = (
            (prev.x1 >= edge or prev.text.endswith(","))
            and cur.text[:1].islower()
            and not SENTENCE_END.search(prev.text)
        )
        if bold_line.x1 < edge and not carried:
            return True
        if prev.bold and len(block) == 1 and numbering_depth(prev.text) and not carried:
            return True  # a numbered bold line, then roman: "2.1 Unsupervised ..." / "Learning"
    if prev.italic and not cur.italic and prev.text.endswith(".") and _stops(prev.text):
        # A short italic line's sentence, then roman: a caption's "Defendants-Appellants."
        span = max(max(map(_X1, block)), cur.x1) - min(min(map(_X0, block)), cur.x0)
        if prev.width < 0.6 * span:
            return True
    gap = cur.y0 - prev.y1
    if gap > lead + FAR * prev.size:
        return True  # a wide blank (a signature block far below the column above it)
    if (profile.is_heading_style(prev.size, prev.bold) or is_caps(prev.text)) and len(block) < 4:
        # A heading wrapped over lines (often double-spaced in filings) stays one
        # heading, unless the next line starts a numbered heading of its own.
        same = is_caps(prev.text) == is_caps(cur.text)
        numbered = _SECTION_NUMBER.match(cur.text) is not None
        if same and cur.y1 > prev.y1 and gap < 1.3 * prev.size and not numbered:
            return False
        if numbered and len(block) == 1 and prev.x1 - prev.x0 < 0.5 * col_width:
            return True  # "Discussion" over "I. Jagels' plea was knowing ...": two headings
        if (
            len(block) == 1
            and prev.bold
            and not same
            and not cur.text[:1].islower()
            and not prev.text.endswith(",")  # a caption's "STATE OF NEW JERSEY," / "Plaintiff,"
        ):
            return True  # "DECLARATION OF JUDAH LAKIN" over "I, Judah Lakin, declare ..."
    left = min(map(_X0, block))
    right = max(map(_X1, block))
    # (a display equation's number ends its line as a stop would; "et al." and "v." do not)
    ends_sentence = bool(prev.tag) or (
        bool(SENTENCE_END.search(prev.text)) and not _RUNS_ON.search(prev.text)
    )
    indent = 0.8 * prev.size
    # A line narrower than the next on both sides is set apart (centred: a docket line
    # over the text), however near the right margin it ends.
    apart = prev.x0 > cur.x0 + indent and prev.x1 < cur.x1 - indent
    full = (prev.x1 > max(right, cur.x1) - 0.08 * col_width or prev.hyphen) and not apart
    if cur.y1 < prev.y1 - 0.5 * prev.size:
        # A jump up: the next column. Carry on only if the sentence clearly does.
        return not (prev.hyphen or (not ends_sentence and cur.text[:1].islower()))
    if gap > lead + 0.45 * prev.size and is_caps(prev.text) != is_caps(cur.text):
        return True  # a capitals line and a mixed-case one apart: a caption's title and text
    if gap > lead + 0.45 * prev.size and not (full and not ends_sentence):
        # Extra space ends a paragraph, except inside double-spaced text where a
        # full line that stops mid-sentence plainly carries on.
        return True
    # Centred lines ("On Appeal from ..." / "No. 3:20-cv-02731") share their middle:
    # the narrower one is no first-line indent.
    centred = abs(prev.x0 + prev.x1 - cur.x0 - cur.x1) < prev.size and cur.x1 < prev.x1 - indent
    if (
        cur.x0 > prev.x0 + indent
        and len(block) >= 2
        and cur.x0 - left < 0.25 * col_width
        and not centred
    ):
        return True  # first-line indent of the next paragraph
    if ends_sentence and prev.x1 < right - 0.15 * col_width and len(block) > 1:
        return True  # a short last line
    if ends_sentence and len(block) == 1 and cur.x1 > prev.x1 + 0.15 * col_width:
        return True  # a one-line paragraph (or a label) before a fuller line
    return False


def _stops(text: str) -> bool:
    """A line ends on a stop or a colon, not on an abbreviation that runs on (a
    caption's "RIVAS, et al." before its party's role)."""
    return text.endswith((".", ":")) and not _RUNS_ON.search(text)


def _join(lines: list[TextLine], words: _Vocabulary) -> str:
    parts = [lines[0].text]
    tagged = lines[0] if lines[0].tag else None
    for prev, ln in pairwise(lines):
        if tagged is not None and not _display_row(ln, tagged):
            parts.append(f" {tagged.tag}")  # after its equation's last row
            tagged = None
        if prev.hyphen:
            pass  # pdfium marked the line-end hyphen as soft: the word continues
        elif prev.text.endswith("\u00ad"):
            parts[-1] = parts[-1][:-1]
        elif prev.text.endswith("-") and prev.text[-2:-1].isalpha():
            # A hyphen pdfium did not mark (OCR text, some producers): decide as for marked ones.
            broken = prev.text[:-1].rpartition(" ")[2]
            if not keeps_hyphen(broken, ln.text.partition(" ")[0], words.get()):
                parts[-1] = parts[-1][:-1]
        else:
            parts.append(" ")
        parts.append(ln.text)
        if ln.tag:
            if tagged is not None:
                parts.insert(len(parts) - 2, f" {tagged.tag}")
            tagged = ln
    if tagged is not None:
        parts.append(f" {tagged.tag}")
    return "".join(parts).strip()


def _display_row(line: TextLine, tagged: TextLine) -> bool:
    """``line`` is a further row of the display equation numbered on ``tagged``: a
    fraction's denominator, set under the equation and within its row's reach."""
    return line.y0 < tagged.y1 + 0.5 * tagged.size and line.x0 >= tagged.x0 and line.x1 < tagged.x1


class _Vocabulary:
    """The page's words for hyphen decisions, gathered only if a line ends in ``-``."""

    def __init__(self, lines: list[TextLine]) -> None:
        self._lines = lines
        self._words: set[str] | None = None

    def get(self) -> set[str]:
        if self._words is None:
            texts = []
            broken = False
            for ln in self._lines:
                text = ln.text.partition(" ")[2] if broken else ln.text
                broken = ln.hyphen or ln.text.endswith("-")
                texts.append(text.rpartition(" ")[0] if broken else text)
            self._words = vocabulary(texts)
        return self._words


def _classify(
    group: list[TextLine],
    profile: Profile,
    page_width: float,
    words: _Vocabulary,
    *,
    marker: bool = False,
) -> RawBlock:
    """``marker``: the group is a section's lone number (build_blocks sets it apart)."""
    text = _join(group, words)
    size = group[0].size
    pitch = max(group[1].y0 - group[0].y0, 0.0) if len(group) > 1 else 0.0
    bbox = BBox(
        round(min(map(_X0, group)), 1),
        round(min(map(_Y0, group)), 1),
        round(max(map(_X1, group)), 1),
        round(max(map(_Y1, group)), 1),
    )
    m = _BULLET.match(text)
    if m:
        return RawBlock("list_item", text[m.end() :], bbox, None, m.group(1), size, pitch)
    if _CAPTION.match(text):
        return RawBlock("caption", text, bbox, size=size, pitch=pitch)
    level = _heading_level(group, text, profile, page_width, marker)
    if level is not None:
        return RawBlock("heading", text, bbox, level, size=size, pitch=pitch)
    m = _NUMBERED_ITEM.match(text)
    if m:
        return RawBlock("list_item", text[m.end() :], bbox, None, m.group(1), size, pitch)
    return RawBlock("paragraph", text, bbox, size=size, pitch=pitch)


def _heading_level(
    group: list[TextLine], text: str, profile: Profile, page_width: float, marker: bool
) -> int | None:
    if len(group) > 6 or len(text) > 400 or not any(c.isalpha() for c in text):
        return None
    if len(group) > 3 and not (group[0].bold or is_caps(text)):
        return None
    words = len(text.split())
    if words > 15 and not (group[0].bold or is_caps(text)):
        return None  # a short paragraph in a bigger font, not a heading
    if text[:1] in "\"\u201c\u2018'(" and not is_caps(text):
        return None  # quotations are not headings
    if _EMAIL.search(text):
        return None  # an author's line (name, affiliation, e-mail) under a paper's title
    depth = numbering_depth(text)
    offset = 2 if profile.has_title else 1
    outline_depth = profile.outline.get(norm_title(text))
    if outline_depth is not None:
        return min(outline_depth + offset, 6)
    first = group[0]
    styled = profile.is_heading_style(first.size, first.bold)
    if not styled:
        if not ((is_caps(text) or marker) and _centred(first, page_width) and words <= 40):
            return None
        level = profile.caps_level()
    else:
        level = profile.style_level(first.size, first.bold)
    scheme = lone_scheme(text) if marker else numbering_scheme(text)
    if styled and text.endswith(".") and depth == 0 and words > 6 and not is_caps(text):
        # A bold sentence, not a heading; unless numbered as this style's headings are
        # in the sample (an opinion's "I. Jagels' plea was knowing and voluntary.")
        if scheme is None or scheme not in profile.schemes.get(level, ()):
            return None
    if scheme is not None:
        level = profile.nested_level(level, scheme, outline_order=marker)
    if depth:
        level = max(level, depth + offset - 1)
    return min(level, 6)
