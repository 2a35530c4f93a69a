"""One page's words -> blocks, tables and furniture: the format-blind layout pipeline.

words -> rows -> (furniture out) -> segments -> reading order -> tables -> blocks.
PDF text layers and OCR output both come through here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pagewire.extract.base import BBox, Block, Page, Table
from pagewire.extract.blocks import RawBlock, TextLine, build_blocks, text_line
from pagewire.extract.columns import Line, divided_rows, reading_order
from pagewire.extract.figures import Figure, place_figures
from pagewire.extract.footnotes import footnote_texts
from pagewire.extract.furniture import split_furniture
from pagewire.extract.lines import Segment, rows_of, split_row
from pagewire.extract.profile import Profile
from pagewire.extract.render import heading_md, list_item_md, page_markdown, paragraph_md
from pagewire.extract.table_detection import TableRegion, find_tables, table_markdown
from pagewire.extract.words import Word

Rule = tuple[float, float, float]  # a vertical rule: x, top, bottom


@dataclass(slots=True)
class PageLayout:
    blocks: list[Block]
    tables: list[Table]
    furniture: list[Block]
    two_columns: bool

    def page(
        self, number: int, width: float, height: float, *, warnings: Sequence[str], ocr: bool
    ) -> Page:
        """The page as every engine returns it: markdown from the blocks, sizes rounded."""
        return Page(
            number=number,
            width=round(width, 2),
            height=round(height, 2),
            markdown=page_markdown(self.blocks),
            blocks=tuple(self.blocks),
            tables=tuple(self.tables),
            warnings=tuple(warnings),
            ocr=ocr,
            furniture=tuple(self.furniture),
        )


def segment_rows(words: list[Word], rules: Sequence[Rule] = ()) -> list[list[Segment]]:
    if not rules:  # (most pages: nothing to cut at, so no row extents to measure)
        return [split_row(row) for row in rows_of(words)]
    rows = []
    for row in rows_of(words):
        top = min(w.y0 for w in row)
        bottom = max(w.y1 for w in row)
        cuts = tuple(x for x, r0, r1 in rules if r0 <= bottom and r1 >= top)
        rows.append(split_row(row, cuts))
    return rows


def lay_out(
    rows: list[list[Segment]],
    profile: Profile,
    width: float,
    height: float,
    tables: bool = True,
    figures: Sequence[Figure] = (),
    rules: Sequence[Rule] = (),
) -> PageLayout:
    body_rows, furniture = split_furniture(rows, profile, width, height)
    if rules:
        body_rows = divided_rows(body_rows, list(rules), width)
    lines, two_columns = reading_order(body_rows)
    text_width = _text_width(body_rows, width)
    items: list[Line | TableRegion] = find_tables(lines, text_width) if tables else list(lines)
    parts: list[RawBlock | Block] = []  # text blocks still raw, tables done
    found_tables: list[Table] = []
    pending: list[TextLine] = []
    for item in items:
        if isinstance(item, TableRegion):
            parts.extend(build_blocks(pending, profile, width))
            pending = []
            md = table_markdown(item.rows)
            rows_t = tuple(tuple(r) for r in item.rows)
            found_tables.append(Table(rows=rows_t, markdown=md, bbox=item.bbox))
            text = "\n".join(" | ".join(r) for r in item.rows)
            parts.append(Block(kind="table", text=text, markdown=md, bbox=item.bbox))
        else:
            pending.append(text_line(item))
    parts.extend(build_blocks(pending, profile, width))
    blocks = _blocks(parts, footnote_texts(parts, profile.body_size, height))
    if figures:
        blocks = place_figures(blocks, list(figures))
    furniture_blocks = [
        Block(kind=kind, text=s.text, markdown=s.text, bbox=_bbox(s)) for kind, s in furniture
    ]
    return PageLayout(blocks, found_tables, furniture_blocks, two_columns)


def _blocks(parts: list[RawBlock | Block], notes: dict[int, str]) -> list[Block]:
    out = []
    for i, rb in enumerate(parts):
        if isinstance(rb, Block):
            out.append(rb)
        elif i in notes:
            if notes[i]:  # (a rule printed over the notes is no text of theirs)
                out.append(Block("footnote", notes[i], paragraph_md(notes[i]), bbox=rb.bbox))
        else:
            if rb.kind == "heading":
                md = heading_md(rb.text, rb.level or 1)
            elif rb.kind == "list_item":
                md = list_item_md(rb.text, rb.marker)
            else:
                md = paragraph_md(rb.text)
            out.append(Block(rb.kind, rb.text, md, bbox=rb.bbox, level=rb.level, marker=rb.marker))
    return out


def _text_width(rows: list[list[Segment]], width: float) -> float:
    segs = [s for r in rows for s in r]
    if not segs:
        return width
    return max(s.x1 for s in segs) - min(s.x0 for s in segs)


def _bbox(s: Segment) -> BBox:
    return BBox(round(s.x0, 1), round(s.y0, 1), round(s.x1, 1), round(s.y1, 1))
