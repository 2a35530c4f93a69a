"""Footnotes: the small print at the foot of a page, or of a column.

A footnote interrupts no sentence: the body paragraph that runs on to the next page
carries on after it (pagejoin.py), so footnotes must be told apart from body text.
They are set in a smaller font than the body (in double-spaced filings, in the body's
font but single-spaced), end near the foot of their column, and start with their
mark: ``<sup>4</sup>To illustrate``, ``<sup>*</sup>Equal contribution``, ``1 The Chapel
claimed``.
The small-print blocks after a marked one are its further paragraphs or the next
notes. An unmarked block at the top of the small print continues a note from the
previous page when it shows it: it sits under a rule (``——————``) or starts in lower
case mid-sentence, followed by marked notes.

All of it is read per block (size, line pitch, first characters): never per word.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from statistics import median

from pagewire.extract.base import Block
from pagewire.extract.blocks import RawBlock

SMALL = 0.92  # of the body's size: notes are set a point or two smaller than the body
TIGHT = 0.7  # of the body's line pitch: single-spaced notes under double-spaced text
DOUBLE = 1.6  # body lines this many sizes apart are double-spaced
FOOT = 0.6  # notes end low on the page (a table of small type halfway down is none)
# "<sup>4</sup>", a symbol (asterisk, LaTeX's U+2217 one, dagger, double dagger), and
# a number set on the line ("4To", "1 The", "2 http://"): never "2020 was" or "(1)".
_MARK = re.compile(
    r"^(?:<sup>[^<]{1,4}</sup>|[*\u2217\u2020\u2021]|\d{1,3}(?=[A-Za-z])|\d{1,2}\s(?=\S))"
)
_BARE_MARK = re.compile(r"^\d{1,3}$")
# The short rule some producers print, as text, over the notes.
_RULE = re.compile(r"^[\u2014\u2013\u2015_-]{3,}\s*")


def has_mark(text: str) -> bool:
    """``text`` starts with a note's mark: ``<sup>7</sup>The``, ``7 The``, ``\u2020Work``."""
    return _MARK.match(text) is not None


def footnote_texts(
    blocks: Sequence[RawBlock | Block], body_size: float, height: float
) -> dict[int, str]:
    """The footnotes among a page's ``blocks`` (in reading order): index -> the note's
    text, without a rule printed over it (empty: the rule alone)."""
    if not blocks:
        return {}
    body_size = _page_body(blocks, body_size, height)
    pitch = _body_pitch(blocks, body_size)
    found: dict[int, str] = {}
    start = 0
    for end in _column_ends(blocks):
        found.update(_column_notes(blocks, start, end, body_size, pitch, height))
        start = end
    return found


def _column_ends(blocks: Sequence[RawBlock | Block]) -> list[int]:
    """Where each column's run of blocks ends: the reading order jumps back up."""
    ends = []
    for i in range(1, len(blocks)):
        a, b = blocks[i - 1].bbox, blocks[i].bbox
        if a is not None and b is not None and b.y0 < a.y0:
            ends.append(i)
    ends.append(len(blocks))
    return ends


def _body_pitch(blocks: Sequence[RawBlock | Block], body_size: float) -> float | None:
    """The body's line pitch when it is double-spaced, else None."""
    pitches = [
        b.pitch
        for b in blocks
        if isinstance(b, RawBlock)
        and b.kind == "paragraph"
        and b.pitch > 0
        and b.size > body_size * SMALL
    ]
    if not pitches:
        return None
    pitch = median(pitches)
    return pitch if pitch > DOUBLE * body_size else None


def _column_notes(
    blocks: Sequence[RawBlock | Block],
    start: int,
    end: int,
    body_size: float,
    pitch: float | None,
    height: float,
) -> dict[int, str]:
    last = blocks[end - 1].bbox
    if last is None or last.y1 < FOOT * height:
        return {}
    top = _trailing(blocks, start, end, lambda b: b.size <= body_size * SMALL)
    tight = False
    if top == end and pitch is not None:  # notes set in the body's size, single-spaced
        top = _trailing(blocks, start, end, lambda b: 0 < b.pitch <= TIGHT * pitch)
        tight = True
    if top in (start, end):
        return {}  # no small print, or nothing but (a column of small type is no footnote)
    texts = [_text(b) for b in blocks[top:end]]
    marked = [i for i, t in enumerate(texts) if has_mark(t)]
    lead = texts[0]
    if marked and marked[0] == 0:
        first = 0
    elif tight:
        return {}  # body-sized print: only a note's mark tells it from a block quote
    elif _RULE.match(lead) or (marked and lead[:1].islower()):
        first = 0  # the end of a note begun on the previous page (and the page's own)
    elif marked:
        first = marked[0]
    else:
        return {}
    notes = {top + i: _RULE.sub("", t, count=1) for i, t in enumerate(texts) if i >= first}
    for i in range(top + first, end - 1):
        if _BARE_MARK.match(notes[i]) and notes[i + 1]:
            # a note's mark on a line of its own: it starts the note under it
            notes[i], notes[i + 1] = "", f"<sup>{notes[i]}</sup>{notes[i + 1]}"
    return notes


def _trailing(
    blocks: Sequence[RawBlock | Block], start: int, end: int, fits: Callable[[RawBlock], bool]
) -> int:
    """Where the column's trailing run of text blocks that ``fits`` starts (``end``: none)."""
    top = end
    while top > start:
        b = blocks[top - 1]
        if not isinstance(b, RawBlock) or b.kind not in ("paragraph", "list_item") or not fits(b):
            break
        top -= 1
    return top


def _page_body(blocks: Sequence[RawBlock | Block], body_size: float, height: float) -> float:
    """The body's size on this page: the document's, or bigger when the page's upper
    half (where notes never are) is mostly set bigger (a syllabus in small type sets
    the document's size; the opinion after it is bigger)."""
    chars: dict[float, int] = {}
    for b in blocks:
        if isinstance(b, RawBlock) and b.kind == "paragraph" and b.bbox.y0 < height / 2:
            chars[b.size] = chars.get(b.size, 0) + len(b.text)
    if not chars:
        return body_size
    return max(body_size, max(chars, key=chars.__getitem__))


def _text(b: RawBlock | Block) -> str:
    if isinstance(b, RawBlock) and b.kind == "list_item" and b.marker:
        return f"{b.marker} {b.text}"
    return b.text
