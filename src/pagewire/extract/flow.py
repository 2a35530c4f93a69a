"""Pages for formats that carry structure but no page geometry (DOCX, PPTX, XLSX, HTML).

Their readers say "heading, level 2", "list item", "table" directly; this turns
those statements into the same :class:`Block`/:class:`Table`/:class:`Page` shape
the PDF layout produces, through the same markdown rendering.
"""

from __future__ import annotations

from pagewire.extract.base import BBox, Block, Page, Table
from pagewire.extract.render import heading_md, page_markdown, paragraph_md
from pagewire.extract.table_detection import table_markdown


class PageBuilder:
    def __init__(self, number: int, width: float = 0.0, height: float = 0.0) -> None:
        self.number = number
        self.width = width
        self.height = height
        self.blocks: list[Block] = []
        self.tables: list[Table] = []
        self.warnings: list[str] = []

    def heading(self, text: str, level: int, bbox: BBox | None = None) -> None:
        text = " ".join(text.split())
        if text:
            level = max(1, min(level, 6))
            self.blocks.append(Block("heading", text, heading_md(text, level), bbox, level))

    def paragraph(self, text: str, bbox: BBox | None = None) -> None:
        text = " ".join(text.split())
        if text:
            self.blocks.append(Block("paragraph", text, paragraph_md(text), bbox))

    def list_item(
        self, text: str, depth: int = 0, numbered: bool = False, bbox: BBox | None = None
    ) -> None:
        text = " ".join(text.split())
        if text:
            marker = "1." if numbered else "-"
            md = "  " * depth + f"{marker} {text}"
            self.blocks.append(Block("list_item", text, md, bbox, marker=marker))

    def table(self, rows: list[list[str]], bbox: BBox | None = None) -> None:
        rows = [[" ".join(c.split()) for c in r] for r in rows]
        rows = [r for r in rows if any(r)]
        if not rows:
            return
        keep = [
            k for k in range(max(len(r) for r in rows)) if any(k < len(r) and r[k] for r in rows)
        ]
        rows = [[r[k] if k < len(r) else "" for k in keep] for r in rows]
        md = table_markdown(rows)
        frozen = tuple(tuple(r) for r in rows)
        self.tables.append(Table(rows=frozen, markdown=md, bbox=bbox))
        text = "\n".join(" | ".join(r) for r in rows)
        self.blocks.append(Block("table", text, md, bbox))

    def build(self) -> Page:
        if not self.blocks and not self.warnings:
            self.warnings.append("page has no text")
        return Page(
            number=self.number,
            width=self.width,
            height=self.height,
            markdown=page_markdown(self.blocks),
            blocks=tuple(self.blocks),
            tables=tuple(self.tables),
            warnings=tuple(self.warnings),
        )
