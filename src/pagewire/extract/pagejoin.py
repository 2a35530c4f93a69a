"""The document's markdown, with paragraphs that cross a page break read whole.

A paragraph broken by a page break (``... the ex-`` | ``<!-- page 4 -->`` | ``tent of``)
is printed whole before the next page's marker: the marker goes between paragraphs,
after the joined one. What is set apart from the running text stays where it is: the
page's footnotes after the joined paragraph, a figure, table or caption atop the next
page before the rest of that page. A footnote broken at the page's foot is read whole
the same way, with its part under the next page's text. ``pages[]`` and their blocks
keep the page boundary as printed; the document's ``markdown`` and its chunks
(chunking.py) read the joined paragraph.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pagewire.extract.base import Block, Page
from pagewire.extract.footnotes import has_mark
from pagewire.extract.hyphens import keeps_hyphen, vocabulary
from pagewire.extract.profile import SENTENCE_END
from pagewire.extract.render import list_item_md, page_markdown, paragraph_md
from pagewire.extract.wordlike import garbled

# A sentence's end with its footnote's mark after it ("... and NLI. 6"): the mark is
# read as a number when it sits alone at the end of its line ("U. S. 141" is no end).
_NOTED_END = re.compile(r"(?<!\b[A-Z])[.!?\"\u201d\u2019)\]]\s?\d{1,3}$")
LABEL_GAP = 4.0  # points: a table's label sits on it; running text keeps a line's space
REACH = 0.1  # of the next block's width: a sentence run on fills its line this near its edge
SCRAWL_CHARS = 40  # a signature's or initials' garbage is short; a garbled line is not


# Blocks set apart from the running text: a sentence broken by a page break goes on
# after them (a table and its caption atop the next page, the notes under this one).
FLOATS = ("figure", "caption", "table", "footnote")


@dataclass(slots=True)
class Join:
    """A block of the next page read as the end of this page's block ``index``:
    ``continued`` is that part (its box), ``at`` where it begins in the joined block's
    markdown."""

    index: int
    continued: Block
    at: int


@dataclass(slots=True)
class PageBody:
    """A page's blocks as the document reads them: a paragraph continued from the
    next page is whole here (its last block but for the page's footnotes), as is a
    footnote continued under the next page's text; that page's ``blocks`` go on
    without the parts. ``joins`` says which blocks were joined, and with what."""

    page: Page
    blocks: list[Block]
    changed: bool = False
    joins: list[Join] = field(default_factory=list)

    def join(self, index: int, after: PageBody, k: int) -> None:
        """Block ``index`` of this page goes on in block ``k`` of the page ``after``."""
        continued = after.blocks.pop(k)
        self.joins.append(Join(index, continued, len(self.blocks[index].markdown)))
        self.blocks[index] = _joined(self.blocks[index], continued)
        self.changed = after.changed = True


def page_bodies(pages: Sequence[Page]) -> list[PageBody]:
    bodies = [PageBody(p, list(p.blocks)) for p in pages]
    for before, after in itertools.pairwise(bodies):
        if after.page.number != before.page.number + 1:
            continue
        last, first = before.blocks, after.blocks
        # A note broken at the foot of this page goes on under the next page's text:
        # that page's first note, unmarked.
        notes = [k for k, b in enumerate(last) if b.kind == "footnote"]
        going_on = next((k for k, b in enumerate(first) if b.kind == "footnote"), None)
        if notes and going_on is not None and _note_goes_on(last[notes[-1]], first[going_on]):
            before.join(notes[-1], after, going_on)
        # The running text ends above this page's footnotes, and goes on below the
        # figures, tables and captions set at the top of the next page.
        i = len(last) - 1
        while i >= 0 and (last[i].kind == "footnote" or _scrawl(last, i)):
            i -= 1
        j = _running_text(first)
        if i >= 0 and j < len(first) and _continues(last[i], first[j]):
            before.join(i, after, j)
    return bodies


def _note_goes_on(note: Block, below: Block) -> bool:
    """``below`` (the next page's first note) carries on ``note`` (this page's last):
    it has no mark of its own (a new note always has one), and ``note`` stops
    mid-word or mid-sentence, or ``below`` goes on in lower case."""
    if has_mark(below.text):
        return False
    return not SENTENCE_END.search(note.text) or below.text[:1].islower()


def _scrawl(blocks: list[Block], k: int) -> bool:
    """Block ``k`` is a few characters that do not read as words: an OCR layer's
    reading of initials at the foot of a scanned page, set apart like its notes."""
    b = blocks[k]
    if b.kind != "paragraph" or len(b.text) > SCRAWL_CHARS:
        return False
    return garbled(b.text, lambda: vocabulary(x.text for j, x in enumerate(blocks) if j != k))


def _running_text(blocks: list[Block]) -> int:
    """Where a page's running text begins: after the floats set at its top."""
    for k, b in enumerate(blocks):
        if b.kind in FLOATS or (k + 1 < len(blocks) and _labels(b, blocks[k + 1])):
            continue
        return k
    return len(blocks)


def _labels(block: Block, below: Block) -> bool:
    """A few words set right on top of a table or figure, within its width: its label
    (a group of columns' heading, "Dev Set"), not the start of the running text."""
    if block.kind != "paragraph" or below.kind not in ("table", "figure"):
        return False
    a, b = block.bbox, below.bbox
    if a is None or b is None or not -1 < b.y0 - a.y1 < LABEL_GAP:
        return False
    within = a.x0 >= b.x0 - 1 and a.x1 <= b.x1 + 1
    return within and len(block.text.split()) <= 6 and not SENTENCE_END.search(block.text)


def document_markdown(pages: Sequence[Page]) -> str:
    return "\n\n".join(
        f"<!-- page {b.page.number} -->\n\n"
        f"{page_markdown(b.blocks) if b.changed else b.page.markdown}".rstrip()
        for b in page_bodies(pages)
    )


def _continues(last: Block, first: Block) -> bool:
    if last.kind not in ("paragraph", "list_item") or first.kind != "paragraph":
        return False
    start, end = first.text[:1], last.text[-2:]
    if end[1:] == "-" and end[:1].isalpha():
        return start.islower()  # "ex-" / "tent"; a capital after it starts something new
    if last.text.endswith(";") and start.islower():
        return True  # a semicolon's clause goes on ("... Chiefs of Police;" / "and Jim ...")
    if SENTENCE_END.search(last.text) or _NOTED_END.search(last.text):
        return False
    # Mid-sentence: a lower-case start carries it on; so does a capital after a word
    # ("the signing of the Red" / "River Compact"), not after a list's colon or a dash,
    # and only from a block that reaches the next one's right edge: a centred date or
    # signature block ("December 22, 2020", "Counsel for Plaintiffs-Appellees") ends
    # short of the text's margin, where a sentence run on to the next page fills its line.
    if start.islower():
        return True
    return start.isupper() and (end[-1:].isalnum() or end[-1:] == ",") and _reaches(last, first)


def _reaches(last: Block, first: Block) -> bool:
    a, b = last.bbox, first.bbox
    if a is None or b is None:
        return True  # (formats without boxes: the text alone decides)
    return a.x1 >= b.x1 - REACH * (b.x1 - b.x0)


def _joined(last: Block, first: Block) -> Block:
    if last.text.endswith("-"):
        broken = last.text[:-1].rpartition(" ")[2]
        rest = first.text.partition(" ")[0]
        words = vocabulary((last.text.rpartition(" ")[0], first.text.partition(" ")[2]))
        text = last.text if keeps_hyphen(broken, rest, words) else last.text[:-1]
        text += first.text
    else:
        text = f"{last.text} {first.text}"
    md = list_item_md(text, last.marker) if last.kind == "list_item" else paragraph_md(text)
    return replace(last, text=text, markdown=md)
