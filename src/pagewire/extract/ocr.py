"""OCR through tesseract (pytesseract) into the same :class:`Word` shape as a text layer.

Only called for pages with no usable text layer (or every page with ``ocr=force``).
Tesseract is a system binary; when it is missing we say so in the page's warnings
rather than returning a silently empty page.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
from dataclasses import dataclass

from PIL import Image

from pagewire.extract.base import BBox
from pagewire.extract.figures import Figure
from pagewire.extract.ocr_figures import OcrBlock, split_figures
from pagewire.extract.words import Word

OCR_DPI = 250
# The most pixels a page is rendered with for OCR. A PDF page may declare 200 inches
# square, whose bitmap at OCR_DPI would not fit in memory: such a page is read at a
# lower resolution instead (A1 and smaller are not affected).
MAX_OCR_PIXELS = 50_000_000
UNAVAILABLE = (
    "ocr_unavailable: this page has no text layer and needs OCR, but tesseract is not "
    "installed on the server (Debian: tesseract-ocr, tesseract-ocr-eng)"
)


@functools.cache
def tesseract_available() -> bool:
    if shutil.which("tesseract") is None:
        return False
    try:
        import pytesseract

        pytesseract.get_tesseract_version()
    except Exception:  # any failure to run the binary means the same to the user
        return False
    return True


def render_scale(width: float, height: float) -> float:
    """Pixels per PDF point to render a page of ``width`` x ``height`` points for OCR."""
    scale = OCR_DPI / 72
    pixels = width * height * scale * scale
    if pixels > MAX_OCR_PIXELS:
        scale *= math.sqrt(MAX_OCR_PIXELS / pixels)
    return scale


BLANK_INK = 0.0005  # share of dark pixels under which a page is blank (dust, a stamp edge)


def is_blank(image: Image.Image) -> bool:
    """Nearly no ink: skip tesseract's seconds on separator pages and blank backs."""
    histogram = image.convert("L").histogram()
    total = sum(histogram) or 1
    return sum(histogram[:128]) / total < BLANK_INK


LOW_CONFIDENCE = 55.0  # mean word confidence under which a page may be sideways
TURN_TRIAL_SCALE = 0.5  # the turns of a badly read page are tried at half resolution
LEGIBLE_CONFIDENCE = 80.0


@dataclass(slots=True)
class Reading:
    """One page's OCR: its text words, its figures (a scanned map's labels are in
    them, see ocr_figures.py), the words' mean confidence, and the clockwise turn
    (0, 90, 180, 270) that made the page readable."""

    words: list[Word]
    figures: list[Figure]
    confidence: float
    legible: int  # characters read confidently in words set left to right
    angle: int = 0


def read_upright(image: Image.Image, scale: float) -> Reading:
    """The page read the way up that reads best.

    Most scans are upright, so other turns are only tried when the first pass reads
    badly (a landscape exhibit, a map scanned sideways). Tesseract's orientation
    detection (OSD) is not asked: on a map it answers at random (SCOTUS's appendix B,
    turned 90 degrees, gets "Rotate: 0", script "Japanese"), whereas reading the page
    each way up at half resolution (a quarter of a read each) and keeping the way
    with the most confidently read, horizontal text picks the turn on both maps.
    """
    reading = _read(image, scale)
    if reading.confidence >= LOW_CONFIDENCE:
        return reading
    angle = _best_turn(image)
    if angle == 0:
        return reading
    turned = _read(image.rotate(-angle, expand=True), scale)
    turned.angle = angle
    return turned if turned.legible > reading.legible else reading


def _best_turn(image: Image.Image) -> int:
    small = image.resize(
        (max(int(image.width * TURN_TRIAL_SCALE), 1), max(int(image.height * TURN_TRIAL_SCALE), 1))
    )
    legible = {a: _read(small.rotate(-a, expand=True), 1.0).legible for a in (0, 90, 180, 270)}
    best = max(legible, key=lambda a: legible[a])
    return best if legible[best] > legible[0] else 0


def ocr_words(image: Image.Image, scale: float) -> list[Word]:
    return _read(image, scale).words


def _read(image: Image.Image, scale: float, lang: str = "eng") -> Reading:
    """``image``'s words (``scale`` converts pixels to PDF points: 72 / dpi), split
    into text and figures."""
    import pytesseract

    # Tesseract's OpenMP threads fight each other and the other jobs on a small
    # machine: tesseract on one thread does the same work in far less time.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(
        image, lang=lang, config="--psm 3", output_type=pytesseract.Output.DICT
    )
    words: list[Word] = []
    line_height: dict[tuple[int, int, int], float] = {}
    keys = []
    blocks: dict[int, OcrBlock] = {}
    legible = 0
    confidences: list[float] = []
    for i, text in enumerate(data["text"]):
        x, y = data["left"][i] * scale, data["top"][i] * scale
        w, h = data["width"][i] * scale, data["height"][i] * scale
        block = data["block_num"][i]
        if data["level"][i] == 2:  # a block's own row: pictures are blocks without words
            blocks[block] = OcrBlock(BBox(x, y, x + w, y + h))
        text = text.strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        key = (block, data["par_num"][i], data["line_num"][i])
        line_height[key] = max(line_height.get(key, 0.0), h)
        keys.append(key)
        confidences.append(conf)
        if block in blocks:
            blocks[block].add(len(words), conf, key[1], key[2])
        if conf >= LEGIBLE_CONFIDENCE and len(text) > 1 and w >= h:
            legible += len(text)
        words.append(Word(text, x, y, x + w, y + h, h, seq=i))
    if not words:
        return Reading(words, [], 0.0, 0)
    confidence = sum(confidences) / len(words)
    # Glyph boxes vary word by word ("can" vs "Judge"); a line's tallest word is
    # about its font size. Snap lines near the page's usual size onto it so body
    # text reads as one size and only real headings stand out.
    heights = sorted(line_height.values())
    usual = heights[len(heights) // 2]
    for word, key in zip(words, keys, strict=True):
        size = line_height[key]
        word.size = usual if abs(size - usual) < 0.25 * usual else size
    page_area = image.width * image.height * scale * scale
    body, figures = split_figures(words, confidences, list(blocks.values()), page_area)
    return Reading(body, figures, confidence, legible)
