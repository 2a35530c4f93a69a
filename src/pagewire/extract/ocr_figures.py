"""Figures on OCR'd pages: the regions of a scan that are drawings, not text.

A map or a diagram scanned with its page OCRs into scattered words (its labels, and
its hatching read as letters: ``a} a<sub>nn</sub> pe``) that the layout would make
into headings and tables. Tesseract's own page layout tells the two apart well
enough; measured on the SCOTUS appendix maps against the corpus's text scans:

- it leaves picture regions without words (blocks with no text at all);
- a map's labels come in blocks whose words cover little of the block (7-9% where
  a text block's cover 40-90%) and read with low confidence (40-60 where text
  reads 85-96).

Those blocks, merged where they touch, are the page's figures when together they
cover a real share of it. Every word over a figure is its label (its ``alt``)
except the words of a block that reads as text: confident, with a line of a
sentence's length (a caption set close to the map stays a caption).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pagewire.extract.base import BBox
from pagewire.extract.figures import Figure
from pagewire.extract.words import Word

MIN_PICTURE = 0.01  # share of the page of a wordless block that is a picture, not a speck
MIN_SPARSE = 0.02  # share of the page of a sparse block that can be a drawing's labels
SPARSE_COVER = 0.2  # words covering less of their block than this are scattered labels
SPARSE_CONFIDENCE = 75.0  # ... when they also read this badly (a wide table reads well)
MIN_FIGURE = 0.05  # a figure's picture and label blocks cover this share of the page
TEXT_CONFIDENCE = 80.0
SENTENCE_WORDS = 5
LABEL_CONFIDENCE = 60.0  # a figure's words read worse than this are noise, not labels  # a line this long, read confidently, is text even over a figure


@dataclass(slots=True)
class OcrBlock:
    """One of tesseract's blocks: its box (points) and its words' indexes and lines."""

    box: BBox
    words: list[int] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    lines: dict[tuple[int, int], int] = field(default_factory=dict)  # (par, line) -> words

    def add(self, index: int, confidence: float, par: int, line: int) -> None:
        self.words.append(index)
        self.confidences.append(confidence)
        self.lines[(par, line)] = self.lines.get((par, line), 0) + 1

    @property
    def confidence(self) -> float:
        return sum(self.confidences) / len(self.confidences) if self.confidences else 0.0

    def reads_as_text(self) -> bool:
        return self.confidence >= TEXT_CONFIDENCE and max(self.lines.values()) >= SENTENCE_WORDS


def split_figures(
    words: list[Word], confidences: list[float], blocks: list[OcrBlock], page_area: float
) -> tuple[list[Word], list[Figure]]:
    """(the page's text words, its figures with their labels) from one OCR reading;
    ``confidences`` are tesseract's, word by word."""
    page_area = max(page_area, 1.0)
    seeds = [b for b in blocks if _is_graphics(b, words, page_area)]
    regions = [box for box, area in _merged(seeds) if area >= MIN_FIGURE * page_area]
    if not regions:
        return words, []
    text_blocks = [b for b in blocks if b.reads_as_text()]
    figures = [Figure(_clipped(box, text_blocks), image=True) for box in regions]
    text = {i for b in text_blocks for i in b.words}
    body = []
    for i, w in enumerate(words):
        home = None if i in text else next((f for f in figures if _overlaps(f.bbox, w)), None)
        if home is None:
            body.append(w)
        elif confidences[i] >= LABEL_CONFIDENCE and any(c.isalnum() for c in w.text):
            home.words.append(w)  # else hatching or a river's line read as "~y" or "a}"
    return body, figures


def _clipped(box: BBox, text_blocks: list[OcrBlock]) -> BBox:
    """``box`` without the text blocks that straddle its top or bottom edge (a caption
    set close under a map): the figure then sits above its caption in reading order."""
    y0, y1 = box.y0, box.y1
    for b in text_blocks:
        t = b.box
        if t.x0 > box.x1 or t.x1 < box.x0:
            continue
        if t.y0 < y1 < t.y1:
            y1 = t.y0
        if t.y0 < y0 < t.y1:
            y0 = t.y1
    return BBox(box.x0, y0, box.x1, max(y1, y0))


def _is_graphics(block: OcrBlock, words: list[Word], page_area: float) -> bool:
    area = _area(block.box)
    if not block.words:
        return area >= MIN_PICTURE * page_area
    if area < MIN_SPARSE * page_area:
        return False
    inked = sum((words[i].x1 - words[i].x0) * (words[i].y1 - words[i].y0) for i in block.words)
    return inked < SPARSE_COVER * area and block.confidence < SPARSE_CONFIDENCE


def _merged(blocks: list[OcrBlock]) -> list[tuple[BBox, float]]:
    """Boxes that overlap, merged (repeatedly): each with the area of what it merged."""
    groups = [(b.box, _area(b.box)) for b in blocks]
    merged = True
    while merged:
        merged = False
        for i in range(len(groups)):
            for j in range(i + 1, len(groups)):
                (a, area_a), (b, area_b) = groups[i], groups[j]
                if a.x0 <= b.x1 and b.x0 <= a.x1 and a.y0 <= b.y1 and b.y0 <= a.y1:
                    union = BBox(min(a.x0, b.x0), min(a.y0, b.y0), max(a.x1, b.x1), max(a.y1, b.y1))
                    groups[i] = (union, area_a + area_b)
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return groups


def _overlaps(box: BBox, w: Word) -> bool:
    return w.x0 <= box.x1 and box.x0 <= w.x1 and w.y0 <= box.y1 and box.y0 <= w.y1


def _area(box: BBox) -> float:
    return max(box.x1 - box.x0, 0.0) * max(box.y1 - box.y0, 0.0)
