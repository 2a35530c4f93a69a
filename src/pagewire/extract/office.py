"""DOCX, PPTX and XLSX through python-docx, python-pptx and openpyxl (all MIT).

A DOCX has no pages until a word processor lays it out, so it is one page; a
PPTX slide and an XLSX sheet are one page each.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from pagewire.extract.base import BBox, ExtractError, ExtractOptions, Page
from pagewire.extract.flow import PageBuilder
from pagewire.extract.formats import DOCX, OFFICE_TYPES, PPTX

EMU_PER_POINT = 12700
MAX_SHEET_ROWS = 20000  # one page of a spreadsheet is still one result: keep it bounded

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)


def check_zip(path: Path) -> None:
    if path.stat().st_size == 0:
        raise ExtractError("empty_file", "the file is empty")
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # Office wraps password-protected OOXML in an OLE container.
        raise ExtractError(
            "encrypted_document", "the file is password-protected (or a legacy binary Office file)"
        )
    if not zipfile.is_zipfile(path):
        raise ExtractError("invalid_document", "the file is not a readable Office document")


class DocxDocument:
    page_count = 1

    def __init__(self, path: Path) -> None:
        import docx

        check_zip(path)
        try:
            self._doc = docx.Document(str(path))
        except Exception as exc:  # python-docx raises a zoo of errors for broken parts
            raise ExtractError("invalid_document", f"the DOCX cannot be read ({exc})") from exc

    def read_page(self, number: int) -> Page:
        from docx.table import Table as DocxTable
        from docx.text.paragraph import Paragraph

        _one_page(number, 1)
        page = PageBuilder(1)
        body = self._doc.element.body
        for el in body.iterchildren():
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "p":
                _docx_paragraph(page, Paragraph(el, self._doc))
            elif tag == "tbl":
                table = DocxTable(el, self._doc)
                page.table([[c.text for c in row.cells] for row in table.rows])
        return page.build()

    def close(self) -> None:
        pass  # python-docx holds no file handle once loaded


def _docx_paragraph(page: PageBuilder, p: Any) -> None:
    style = (p.style.name if p.style is not None else "") or ""
    m = _HEADING_STYLE.match(style)
    if m:
        page.heading(p.text, int(m.group(1)))
    elif style.lower() == "title":
        page.heading(p.text, 1)
    elif "list" in style.lower() or (p._p.pPr is not None and p._p.pPr.numPr is not None):
        page.list_item(p.text, numbered="number" in style.lower())
    else:
        page.paragraph(p.text)


class PptxDocument:
    def __init__(self, path: Path) -> None:
        import pptx

        check_zip(path)
        try:
            self._prs = pptx.Presentation(str(path))
        except Exception as exc:
            raise ExtractError("invalid_document", f"the PPTX cannot be read ({exc})") from exc
        self.page_count = len(self._prs.slides)

    def read_page(self, number: int) -> Page:
        _one_page(number, self.page_count)
        slide = self._prs.slides[number - 1]
        width = (self._prs.slide_width or 0) / EMU_PER_POINT
        height = (self._prs.slide_height or 0) / EMU_PER_POINT
        page = PageBuilder(number, width, height)
        title = slide.shapes.title
        shapes = sorted(slide.shapes, key=lambda s: ((s.top or 0), (s.left or 0)))
        for shape in shapes:
            box = _shape_box(shape)
            if title is not None and shape.shape_id == title.shape_id:
                page.heading(shape.text_frame.text, 1, box)
            elif getattr(shape, "has_table", False) and shape.has_table:
                rows = [[c.text for c in r.cells] for r in shape.table.rows]
                page.table(rows, box)
            elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
                bulleted = shape.is_placeholder
                for para in shape.text_frame.paragraphs:
                    text = "".join(r.text for r in para.runs)
                    if bulleted or para.level > 0:
                        page.list_item(text, depth=para.level, bbox=box)
                    else:
                        page.paragraph(text, box)
        return page.build()

    def close(self) -> None:
        pass  # python-pptx holds no file handle once loaded


def _shape_box(shape: Any) -> BBox | None:
    if shape.left is None or shape.top is None:
        return None
    x0, y0 = shape.left / EMU_PER_POINT, shape.top / EMU_PER_POINT
    return BBox(
        round(x0, 1),
        round(y0, 1),
        round(x0 + (shape.width or 0) / EMU_PER_POINT, 1),
        round(y0 + (shape.height or 0) / EMU_PER_POINT, 1),
    )


class XlsxDocument:
    def __init__(self, path: Path) -> None:
        import openpyxl

        check_zip(path)
        # From a stream, not a path: openpyxl refuses a path without an .xlsx-like
        # extension, and stored uploads have none.
        self._file = path.open("rb")
        try:
            self._book = openpyxl.load_workbook(self._file, read_only=True, data_only=True)
        except Exception as exc:
            self._file.close()
            raise ExtractError("invalid_document", f"the XLSX cannot be read ({exc})") from exc
        self._names = list(self._book.sheetnames)
        self.page_count = len(self._names)

    def read_page(self, number: int) -> Page:
        _one_page(number, self.page_count)
        sheet = self._book[self._names[number - 1]]
        page = PageBuilder(number)
        page.heading(self._names[number - 1], 1)
        rows: list[list[str]] = []
        for i, row in enumerate(sheet.iter_rows(values_only=True)):
            if i >= MAX_SHEET_ROWS:
                page.warnings.append(f"sheet truncated after {MAX_SHEET_ROWS} rows")
                break
            rows.append(["" if v is None else str(v) for v in row])
        page.table(rows)
        return page.build()

    def close(self) -> None:
        self._book.close()
        self._file.close()


def _one_page(number: int, count: int) -> None:
    if not 1 <= number <= count:
        raise ExtractError(
            "page_out_of_range", f"page {number} was asked for but the document has {count} pages"
        )


class OfficeEngine:
    media_types = OFFICE_TYPES

    def open(
        self, path: Path, media_type: str, options: ExtractOptions
    ) -> DocxDocument | PptxDocument | XlsxDocument:
        if media_type == DOCX:
            return DocxDocument(path)
        if media_type == PPTX:
            return PptxDocument(path)
        return XlsxDocument(path)
