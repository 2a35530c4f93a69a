"""The document's markdown, with paragraphs that cross a page break read whole.

A paragraph broken by a page break (``... the ex-`` | ``<!-- page 4 -->`` | ``tent of``)
is printed whole before the next page's marker: the marker goes between paragraphs,
after the joined one. ``pages[]`` and their blocks keep the page boundary as printed;
the document's ``markdown`` and its chunks (chunking.py) read the joined paragraph.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pagewire.extract.base import Block, Page
from pagewire.extract.hyphens import keeps_hyphen, vocabulary
from pagewire.extract.render import list_item_md, page_markdown, paragraph_md

_SENTENCE_END = re.compile(r"[.!?:;\"\u201d\u2019)\]]$")


@dataclass(slots=True)
class PageBody:
    """A page's blocks as the document reads them: a paragraph continued from the
    next page ends ``blocks`` whole, and that page's ``blocks`` start after it.
    ``continued`` is the next page's part of the joined paragraph (its box) and
    ``joined_at`` where, in the joined block's markdown, that part begins."""

    page: Page
    blocks: list[Block]
    changed: bool = False
    continued: Block | None = None
    joined_at: int = 0


def page_bodies(pages: Sequence[Page]) -> list[PageBody]:
    bodies = [PageBody(p, list(p.blocks)) for p in pages]
    for before, after in itertools.pairwise(bodies):
        if after.page.number != before.page.number + 1:
            continue
        last, first = before.blocks, after.blocks
        # A figure set at the top of the next page interrupts no sentence: the text
        # continues in the first block after it.
        j = next((k for k, b in enumerate(first) if b.kind != "figure"), len(first))
        if last and j < len(first) and _continues(last[-1], first[j]):
            before.continued = first.pop(j)
            before.joined_at = len(last[-1].markdown)
            last[-1] = _joined(last[-1], before.continued)
            before.changed = after.changed = True
    return bodies


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
    if _SENTENCE_END.search(last.text):
        return False
    # Mid-sentence: a lower-case start carries it on; so does a capital after a word
    # ("the signing of the Red" / "River Compact"), not after a list's colon or a dash.
    return start.islower() or (start.isupper() and (end[-1:].isalnum() or end[-1:] == ","))


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
