"""Figures: regions of a page that are drawings or pictures, and the text inside them.

A figure's labels (axis names, the words of an attention map, a diagram's boxes) are
text in the PDF, but read as lines they become headings ("Input-Input Layer5"),
tables and sentences that break the paragraph around them. So the page's graphics
are found first: images and form XObjects (how LaTeX includes a PDF figure) that
cover a real share of the page. Text drawn *by* a form belongs to its figure, as does
text set over an image. A figure becomes one ``figure`` block: its caption
("Figure 3: ...") as the block's text and its labels as ``alt``, never as headings,
paragraphs or tables.
"""

from __future__ import annotations

import ctypes
import re
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as raw

from pagewire.extract import pdfium_calls as calls
from pagewire.extract.base import BBox, Block
from pagewire.extract.words import Word

MAX_OBJECTS_SCANNED = 20000  # vector-heavy figures: rules and images are found early
MAX_FORM_OBJECTS = 50000  # text objects inside forms looked at, over all forms of a page
MIN_SIDE = 36.0  # half an inch: smaller images are icons, bullets, signatures' flourishes
MIN_SHARE = 0.01  # of the page's area
MAX_SHARE = 0.7  # a bigger image is the page itself (a scan), not a figure on it
CAPTION_GAP = 72.0  # how far (points) a caption may sit below or above its figure
# points between a figure's top and the titles of its drawings printed over it (their
# descent may dip into its frame's line)
TITLE_GAP = 3.0
TITLE_LINE = 16.0  # points: a title is one line
_SENTENCE_END = re.compile(r"[.!?:;]$")
_FIGURE_CAPTION = re.compile(r"^(Figure|Fig\.)\s+[\dA-Z]+", re.IGNORECASE)

Rule = tuple[float, float, float]  # a vertical rule: x, top, bottom
_GRAPHICS = (raw.FPDF_PAGEOBJ_PATH, raw.FPDF_PAGEOBJ_IMAGE, raw.FPDF_PAGEOBJ_FORM)


@dataclass(slots=True)
class Figure:
    """A figure's box (top-left origin, points) and the words drawn inside it."""

    bbox: BBox
    image: bool  # a picture, whose text (if any) is set over it; else a form XObject
    words: list[Word] = field(default_factory=list)


@dataclass(slots=True)
class Graphics:
    rules: list[Rule]
    image_cover: float  # the largest image's share of the page (a scan covers it all)
    figures: list[Figure]
    figure_text: set[int]  # addresses of the text objects that forms draw


def page_graphics(page: pdfium.PdfPage, width: float, height: float) -> Graphics:
    """Vertical rules (table grid lines), image cover, and the figures of one page."""
    rules: list[Rule] = []
    figures: list[Figure] = []
    figure_text: set[int] = set()
    cover = 0.0
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    refs = [ctypes.byref(v) for v in (left, bottom, right, top)]
    page_handle = calls.handle(page.raw)
    count = min(calls.PAGE_OBJECT_COUNT(page_handle), MAX_OBJECTS_SCANNED)
    area = max(width * height, 1.0)
    for i in range(count):
        obj = calls.PAGE_OBJECT(page_handle, i)
        kind = calls.OBJECT_TYPE(obj)
        if kind not in _GRAPHICS:
            continue
        if not calls.OBJECT_BOUNDS(obj, *refs):
            continue
        w, h = right.value - left.value, top.value - bottom.value
        if kind == raw.FPDF_PAGEOBJ_PATH:
            if w <= 2.5 and h >= 6:
                rules.append(
                    ((left.value + right.value) / 2, height - top.value, height - bottom.value)
                )
            continue
        share = (w * h) / area
        if kind == raw.FPDF_PAGEOBJ_IMAGE:
            cover = max(cover, share)
        if w >= MIN_SIDE and h >= MIN_SIDE and MIN_SHARE <= share <= MAX_SHARE:
            box = BBox(left.value, height - top.value, right.value, height - bottom.value)
            figures.append(Figure(box, image=kind == raw.FPDF_PAGEOBJ_IMAGE))
            if kind == raw.FPDF_PAGEOBJ_FORM:
                _form_text(obj, figure_text, MAX_FORM_OBJECTS - len(figure_text))
    return Graphics(rules, cover, figures, figure_text)


def _form_text(form: calls.Handle, found: set[int], budget: int) -> None:
    """Add the addresses of the text objects ``form`` draws (nested forms too)."""
    stack = [form]
    while stack and budget > 0:
        current = stack.pop()
        for i in range(calls.FORM_OBJECT_COUNT(current)):
            budget -= 1
            if budget <= 0:
                return
            child = calls.FORM_OBJECT(current, ctypes.c_ulong(i))
            kind = calls.OBJECT_TYPE(child)
            if kind == raw.FPDF_PAGEOBJ_TEXT:
                if child.value:
                    found.add(child.value)
            elif kind == raw.FPDF_PAGEOBJ_FORM:
                stack.append(child)


def assign_words(figures: list[Figure], words: list[Word], drawn: list[Word]) -> list[Word]:
    """Give each figure the words inside it: every word a form drew (``drawn``) and any
    other word whose centre lies on a picture. Returns the words left for the body.

    A form's box is often looser than its drawing (LaTeX's page-sized bounding boxes), so
    only the text a form draws is its own; the heading above it stays a heading."""
    if not figures:
        return words
    for w in drawn:
        home = _home(figures, w, nearest=True)
        if home is not None:
            home.words.append(w)
    pictures = [f for f in figures if f.image]
    if not pictures:
        return words
    body = []
    for w in words:
        home = _home(pictures, w, nearest=False)
        if home is None:
            body.append(w)
        else:
            home.words.append(w)
    return body


def _home(figures: list[Figure], w: Word, *, nearest: bool) -> Figure | None:
    cx, cy = (w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2
    for f in figures:
        b = f.bbox
        if b.x0 <= cx <= b.x1 and b.y0 <= cy <= b.y1:
            return f
    if not nearest:
        return None
    return min(figures, key=lambda f: _distance(f.bbox, cx, cy))


def _distance(b: BBox, x: float, y: float) -> float:
    dx = max(b.x0 - x, 0.0, x - b.x1)
    dy = max(b.y0 - y, 0.0, y - b.y1)
    return dx * dx + dy * dy


def labels(words: list[Word]) -> str:
    """A figure's words in a stable reading order: top to bottom, left to right."""
    ordered = sorted(words, key=lambda w: (round(w.y0 / 4), w.x0))
    return " ".join(w.text for w in ordered)


def place_figures(blocks: list[Block], figures: list[Figure]) -> list[Block]:
    """The blocks with each figure in its place: in its caption's stead when a
    "Figure N" caption sits just below (or above) it, else before the first block below
    it. A figure with neither caption nor text (a logo, a seal) adds nothing."""
    out = list(blocks)
    for fig in sorted(figures, key=lambda f: (f.bbox.y0, f.bbox.x0)):
        alt, box = labels(fig.words), fig.bbox
        row = _row_box(fig, figures)
        titles = [b for b in out if _titles(b, row)]
        if titles:  # the drawings' titles read first, as printed
            alt = " ".join([*(b.text for b in titles), alt]).strip()
            moved = {id(b) for b in titles}
            out = [b for b in out if id(b) not in moved]
            for b in titles:
                box = _union(box, b.bbox)
        at = _caption_index(out, fig.bbox)
        if at is not None:
            cap = out[at]
            out[at] = figure_block(cap.text, alt, _union(box, cap.bbox))
        elif alt:
            below = [
                i for i, b in enumerate(out) if b.bbox is not None and b.bbox.y0 >= fig.bbox.y1
            ]
            out.insert(below[0] if below else len(out), figure_block("", alt, _round(box)))
    return out


def _row_box(fig: Figure, figures: list[Figure]) -> BBox:
    """The box of ``fig`` and the figures set beside it (drawings side by side)."""
    row = [f.bbox for f in figures if f.bbox.y0 < fig.bbox.y1 and f.bbox.y1 > fig.bbox.y0]
    return BBox(
        min(b.x0 for b in row),
        min(b.y0 for b in row),
        max(b.x1 for b in row),
        max(b.y1 for b in row),
    )


def _titles(block: Block, box: BBox) -> bool:
    """One short line set right on the top edge of a figure (or a row of them) and
    centred over it, that is no sentence: its drawings' titles ("Scaled Dot-Product
    Attention   Multi-Head Attention") printed as page text. Running text keeps at
    least a line's space from a figure, and a heading is no title."""
    b = block.bbox
    if block.kind != "paragraph" or b is None or not -TITLE_GAP < box.y0 - b.y1 < TITLE_GAP:
        return False
    centred = box.x0 < (b.x0 + b.x1) / 2 < box.x1
    one_line = b.y1 - b.y0 < TITLE_LINE
    short = len(block.text.split()) <= 12 and not _SENTENCE_END.search(block.text)
    return centred and one_line and short


def figure_block(caption: str, alt: str, bbox: BBox | None) -> Block:
    return Block(kind="figure", text=caption, markdown=figure_md(caption, alt), bbox=bbox, alt=alt)


def figure_md(caption: str, alt: str) -> str:
    """``*Figure 3: caption*`` and, on the next line, the labels in an HTML comment:
    visible to a program reading the markdown, hidden when it is rendered."""
    parts = []
    if caption:
        escaped = caption.replace("*", "\\*")
        parts.append(f"*{escaped}*")
    if alt:
        safe = alt.replace("--", "\u2013")  # "--" would end the comment early
        parts.append(f"<!-- figure text: {safe} -->")
    return "\n".join(parts)


def _caption_index(blocks: list[Block], box: BBox) -> int | None:
    best, best_gap = None, CAPTION_GAP
    for i, b in enumerate(blocks):
        if b.kind != "caption" or b.bbox is None or not _FIGURE_CAPTION.match(b.text):
            continue
        if min(b.bbox.x1, box.x1) - max(b.bbox.x0, box.x0) <= 0:
            continue  # not under or over this figure
        # Below (or above) the figure's middle; a form's loose box may overlap it.
        below = b.bbox.y0 + b.bbox.y1 > box.y0 + box.y1
        gap = b.bbox.y0 - box.y1 if below else box.y0 - b.bbox.y1
        if -30 <= gap < best_gap:
            best, best_gap = i, max(gap, 0.0)
    return best


def _union(a: BBox, b: BBox | None) -> BBox:
    if b is None:
        return _round(a)
    return _round(BBox(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1)))


def _round(b: BBox) -> BBox:
    return BBox(round(b.x0, 1), round(b.y0, 1), round(b.x1, 1), round(b.y1, 1))
