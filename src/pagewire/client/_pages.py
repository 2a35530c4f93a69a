"""A result's pages, blocks, tables and chunks, typed (the shape is in docs/extraction.md).

Each also reads as its JSON (``page["markdown"]``, ``block.get("level")``, see
:mod:`pagewire.client._raw`), so code written against the plain dicts keeps working,
and a field the server added after this SDK was released is still there in ``raw``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pagewire.client._raw import RawMapping

__all__ = ["BBox", "Block", "Chunk", "ChunkBox", "Page", "Table"]


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


@dataclass(frozen=True)
class BBox:
    """A box in PDF points, origin at the page's top-left, ``y`` growing downwards."""

    x0: float
    y0: float
    x1: float
    y1: float

    @classmethod
    def from_dict(cls, data: Any) -> BBox | None:
        if not isinstance(data, dict):
            return None  # DOCX, HTML and XLSX blocks have no box
        return cls(*(_float(data.get(k)) for k in ("x0", "y0", "x1", "y1")))


@dataclass(frozen=True, eq=False)
class Block(RawMapping):
    """One piece of a page in reading order: ``heading`` (with ``level``), ``paragraph``,
    ``list_item`` (with its printed ``marker``), ``caption``, ``table``, ``figure``
    (its caption as ``text``, its labels in ``raw["alt"]``), ``footnote``; or, in
    ``Page.furniture``, ``header``, ``footer``, ``page_number``, ``line_number``,
    ``margin_note``."""

    kind: str
    text: str
    markdown: str
    bbox: BBox | None = None
    level: int | None = None
    marker: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Block:
        data = _dict(data)
        return cls(
            kind=str(data.get("kind") or ""),
            text=str(data.get("text") or ""),
            markdown=str(data.get("markdown") or ""),
            bbox=BBox.from_dict(data.get("bbox")),
            level=data.get("level"),
            marker=data.get("marker"),
            raw=data,
        )


@dataclass(frozen=True, eq=False)
class Table(RawMapping):
    """A table as ``rows`` of cell strings (row-major, the header row first) and markdown."""

    rows: list[list[str]]
    markdown: str
    bbox: BBox | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Table:
        data = _dict(data)
        return cls(
            rows=[[str(cell) for cell in _list(row)] for row in _list(data.get("rows"))],
            markdown=str(data.get("markdown") or ""),
            bbox=BBox.from_dict(data.get("bbox")),
            raw=data,
        )


@dataclass(frozen=True, eq=False)
class Page(RawMapping):
    """One page of the document (``number`` counts from 1)."""

    number: int
    markdown: str
    width: float | None = None
    height: float | None = None
    blocks: list[Block] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    furniture: list[Block] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ocr: bool = False
    html: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Page:
        data = _dict(data)
        width, height = data.get("width"), data.get("height")
        return cls(
            number=int(data.get("number") or 0),
            markdown=str(data.get("markdown") or ""),
            width=float(width) if isinstance(width, int | float) else None,
            height=float(height) if isinstance(height, int | float) else None,
            blocks=[Block.from_dict(b) for b in _list(data.get("blocks"))],
            tables=[Table.from_dict(t) for t in _list(data.get("tables"))],
            furniture=[Block.from_dict(b) for b in _list(data.get("furniture"))],
            warnings=[str(w) for w in _list(data.get("warnings"))],
            ocr=bool(data.get("ocr")),
            html=data.get("html"),
            raw=data,
        )


@dataclass(frozen=True)
class ChunkBox:
    """Where a chunk's source block lies: its page and box."""

    page: int
    bbox: BBox

    @classmethod
    def from_dict(cls, data: Any) -> ChunkBox:
        data = _dict(data)
        return cls(int(data.get("page") or 0), BBox.from_dict(data) or BBox(0, 0, 0, 0))


@dataclass(frozen=True, eq=False)
class Chunk(RawMapping):
    """A piece of the document cut for retrieval, by one ``mode`` (page, header, recursive)."""

    mode: str
    index: int
    text: str
    pages: list[int] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    boxes: list[ChunkBox] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: Any) -> Chunk:
        data = _dict(data)
        return cls(
            mode=str(data.get("mode") or ""),
            index=int(data.get("index") or 0),
            text=str(data.get("text") or ""),
            pages=[int(p) for p in _list(data.get("pages")) if isinstance(p, int)],
            headings=[str(h) for h in _list(data.get("headings"))],
            boxes=[ChunkBox.from_dict(b) for b in _list(data.get("boxes"))],
            raw=data,
        )
