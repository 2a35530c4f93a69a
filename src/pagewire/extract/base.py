"""The engine interface: ``bytes on disk, media type, options -> pages of blocks``.

The worker's child process (``pagewire.extract.child``) is the only caller. It
opens a document, reads the selected pages one by one (reporting progress and
letting the parent stop it between pages), then assembles the result. Keeping
the interface this small is what lets another engine (a model-based one, say)
sit beside this one later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pagewire.extract.pages import PageSelection

OcrMode = Literal["auto", "force", "off"]
ChunkingMode = Literal["page", "header", "recursive"]


class ExtractError(Exception):
    """A document that cannot be extracted; ``code`` is the job's error code.

    Codes: ``empty_file``, ``invalid_document`` (not what its type says, truncated,
    corrupt), ``encrypted_document``, ``unsupported_media_type``, ``page_out_of_range``.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ExtractOptions:
    pages: PageSelection | None = None  # 1-based; None = all
    ocr: OcrMode = "auto"
    tables: bool = True
    chunking: tuple[ChunkingMode, ...] = ()
    chunk_size: int = 1000
    return_html: bool = False
    # Not a request option: how many pages the run may OCR at once (the worker's
    # free extractor slots when the job started). Pages still come out in order.
    ocr_lanes: int = 1


@dataclass(frozen=True)
class BBox:
    """A box in PDF points, origin at the page's top-left (y grows downwards)."""

    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class Block:
    # heading, paragraph, list_item, table, caption, figure, footnote; in furniture:
    # header, footer, page_number, line_number, margin_note
    kind: str
    text: str
    markdown: str
    bbox: BBox | None = None
    level: int | None = None  # heading level, 1-6
    marker: str | None = None  # a list item's marker as printed: "•", "1.", "(a)"
    alt: str | None = None  # a figure's text labels (its caption is ``text``)


@dataclass(frozen=True)
class Table:
    rows: tuple[tuple[str, ...], ...]
    markdown: str
    bbox: BBox | None = None


@dataclass(frozen=True)
class Page:
    number: int  # 1-based
    width: float
    height: float
    markdown: str
    blocks: tuple[Block, ...] = ()
    tables: tuple[Table, ...] = ()
    warnings: tuple[str, ...] = ()
    ocr: bool = False
    furniture: tuple[Block, ...] = field(
        default=()
    )  # running headers/footers/page numbers, kept out of markdown


class Document(Protocol):
    page_count: int

    def read_page(self, number: int) -> Page:
        """Extract one page (1-based)."""
        ...

    def close(self) -> None: ...


class Engine(Protocol):
    @property
    def media_types(self) -> Sequence[str]: ...

    def open(self, path: Path, media_type: str, options: ExtractOptions) -> Document: ...


def page_dict(page: Page) -> dict[str, Any]:
    """The JSON shape of one page in a job's result: ``dataclasses.asdict(page)``, keys
    in field order, written out because asdict deep-copies every value (8% of a text
    page's time). A field added to a record must be added here too (a test checks)."""
    return {
        "number": page.number,
        "width": page.width,
        "height": page.height,
        "markdown": page.markdown,
        "blocks": tuple(_block_dict(b) for b in page.blocks),
        "tables": tuple(
            {"rows": t.rows, "markdown": t.markdown, "bbox": _bbox_dict(t.bbox)}
            for t in page.tables
        ),
        "warnings": page.warnings,
        "ocr": page.ocr,
        "furniture": tuple(_block_dict(b) for b in page.furniture),
    }


def _block_dict(block: Block) -> dict[str, Any]:
    return {
        "kind": block.kind,
        "text": block.text,
        "markdown": block.markdown,
        "bbox": _bbox_dict(block.bbox),
        "level": block.level,
        "marker": block.marker,
        "alt": block.alt,
    }


def _bbox_dict(box: BBox | None) -> dict[str, float] | None:
    return None if box is None else {"x0": box.x0, "y0": box.y0, "x1": box.x1, "y1": box.y1}


def page_from_dict(data: dict[str, Any]) -> Page:
    """The inverse of :func:`page_dict`, from its JSON: a part of a job extracted
    elsewhere (a shard) becomes pages again, to be assembled with the rest."""

    def block(b: dict[str, Any]) -> Block:
        return Block(**{**b, "bbox": _bbox(b.get("bbox"))})

    return Page(
        number=data["number"],
        width=data["width"],
        height=data["height"],
        markdown=data["markdown"],
        blocks=tuple(block(b) for b in data.get("blocks", ())),
        tables=tuple(
            Table(
                rows=tuple(tuple(row) for row in t["rows"]),
                markdown=t["markdown"],
                bbox=_bbox(t.get("bbox")),
            )
            for t in data.get("tables", ())
        ),
        warnings=tuple(data.get("warnings", ())),
        ocr=data.get("ocr", False),
        furniture=tuple(block(b) for b in data.get("furniture", ())),
    )


def _bbox(data: dict[str, float] | None) -> BBox | None:
    return None if data is None else BBox(**data)


def iter_selected(page_count: int, options: ExtractOptions) -> Iterator[int]:
    if options.pages is None:
        yield from range(1, page_count + 1)
        return
    missing = options.pages.first_missing(page_count)
    if missing is not None:
        raise ExtractError(
            "page_out_of_range",
            f"page {missing} was asked for but the document has {page_count} pages",
        )
    yield from options.pages.numbers(page_count)
