"""Chunks for retrieval: by page, by section (``header``), or size-bounded (``recursive``).

Every chunk says where it came from: its pages and the boxes of the blocks it was
cut from, so a search hit can be highlighted on the page. Running headers and
footers never reach a chunk (they are not blocks). A paragraph that crosses a page
break is chunked whole, as the document's markdown prints it (pagejoin.py): its
chunk lists both pages and a box on each; ``page`` chunks keep pages as printed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pagewire.extract.base import BBox, Block, Page
from pagewire.extract.pagejoin import page_bodies

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9])")


@dataclass
class _Piece:
    text: str
    block: Block
    sources: list[tuple[int, BBox | None]]  # (page, box) of each printed part


def _part(piece: _Piece, text: str, start: int, joined_at: int) -> _Piece:
    """``text``, found at ``start`` of a piece whose second page begins at ``joined_at``
    (0: one page), keeps only the pages it lies on."""
    if joined_at <= 0 or len(piece.sources) < 2:
        return _Piece(text, piece.block, piece.sources)
    before, after = piece.sources
    sources = [before] if start < joined_at else []
    if start + len(text) > joined_at:
        sources.append(after)
    return _Piece(text, piece.block, sources or piece.sources)


@dataclass
class _Chunk:
    mode: str
    parts: list[str] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    boxes: list[dict[str, Any]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)

    def add(self, piece: _Piece) -> None:
        self.parts.append(piece.text)
        for page, b in piece.sources:
            if page not in self.pages:
                self.pages.append(page)
            if b is not None:
                box = {"page": page, "x0": b.x0, "y0": b.y0, "x1": b.x1, "y1": b.y1}
                if not self.boxes or self.boxes[-1] != box:
                    self.boxes.append(box)

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.parts) + 2 * max(len(self.parts) - 1, 0)

    def as_dict(self, index: int) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "index": index,
            "text": "\n\n".join(self.parts),
            "pages": self.pages,
            "headings": self.headings,
            "boxes": self.boxes,
        }


def chunk(pages: list[Page], modes: Iterable[str], size: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for mode in modes:
        if mode == "page":
            chunks = list(_by_page(pages))
        elif mode == "header":
            chunks = list(_by_header(pages))
        elif mode == "recursive":
            chunks = list(_recursive(pages, size))
        else:
            raise ValueError(f"unknown chunking mode {mode!r}")
        out.extend(c.as_dict(i) for i, c in enumerate(chunks) if c.parts)
    return out


def _pieces(pages: list[Page]) -> Iterator[tuple[_Piece, int]]:
    """Each block with its sources, and where its second page's part begins (0: none)."""
    for body in page_bodies(pages):
        number = body.page.number
        joins = {j.index: j for j in body.joins}
        for i, block in enumerate(body.blocks):
            if not block.markdown.strip():
                continue
            sources: list[tuple[int, BBox | None]] = [(number, block.bbox)]
            join = joins.get(i)
            if join is not None:
                sources.append((number + 1, join.continued.bbox))
                yield _Piece(block.markdown, block, sources), join.at
            else:
                yield _Piece(block.markdown, block, sources), 0


def _printed(page: Page) -> Iterator[_Piece]:
    for block in page.blocks:
        if block.markdown.strip():
            yield _Piece(block.markdown, block, [(page.number, block.bbox)])


def _by_page(pages: list[Page]) -> Iterator[_Chunk]:
    for page in pages:
        c = _Chunk("page")
        for piece in _printed(page):
            c.add(piece)
        if not c.parts and page.markdown:
            c.parts.append(page.markdown)
            c.pages.append(page.number)
        yield c


def _by_header(pages: list[Page]) -> Iterator[_Chunk]:
    path: list[tuple[int, str]] = []
    current = _Chunk("header")
    for piece, _ in _pieces(pages):
        block = piece.block
        if block.kind == "heading":
            if current.parts:
                yield current
            level = block.level or 1
            path = [(lv, t) for lv, t in path if lv < level] + [(level, block.text)]
            current = _Chunk("header", headings=[t for _, t in path])
        current.add(piece)
    if current.parts:
        yield current


def _recursive(pages: list[Page], size: int) -> Iterator[_Chunk]:
    """Pack blocks up to ``size`` characters; split only what cannot fit, first on
    sentences, then on words, and only a single over-long word is ever cut."""
    path: list[tuple[int, str]] = []
    current = _Chunk("recursive")
    for piece, joined_at in _pieces(pages):
        if piece.block.kind == "heading":
            level = piece.block.level or 1
            path = [(lv, t) for lv, t in path if lv < level] + [(level, piece.block.text)]
        start = 0
        for part in _fit(piece.text, size):
            extra = len(part) + (2 if current.parts else 0)
            if current.parts and current.size + extra > size:
                yield current
                current = _Chunk("recursive")
            if not current.parts:
                current.headings = [t for _, t in path]
            current.add(_part(piece, part, start, joined_at))
            start += len(part) + 1  # the space or newline the cut fell on
    if current.parts:
        yield current


def _fit(text: str, size: int) -> list[str]:
    if len(text) <= size:
        return [text]
    out: list[str] = []
    for unit in _pack(_SENTENCE.split(text), size, " "):
        if len(unit) <= size:
            out.append(unit)
            continue
        for words in _pack(unit.split(" "), size, " "):
            out.extend(words[i : i + size] for i in range(0, len(words), size))
    return out


def _pack(units: list[str], size: int, sep: str) -> list[str]:
    out: list[str] = []
    for unit in units:
        if out and len(out[-1]) + len(sep) + len(unit) <= size:
            out[-1] = out[-1] + sep + unit
        else:
            out.append(unit)
    return out
