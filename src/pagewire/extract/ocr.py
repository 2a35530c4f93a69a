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

from PIL import Image

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


def read_upright(image: Image.Image, scale: float) -> tuple[list[Word], int]:
    """Words of ``image`` and the clockwise rotation (0, 90, 180, 270) that made it readable.

    Most scans are upright, so orientation detection only runs when the first pass
    reads badly (a landscape exhibit, a map scanned sideways).
    """
    words, confidence = _read(image, scale)
    if confidence >= LOW_CONFIDENCE or not _tesseract_has_osd():
        return words, 0
    angle = _orientation(image)
    if angle == 0:
        return words, 0
    turned = image.rotate(-angle, expand=True)
    turned_words, turned_confidence = _read(turned, scale)
    if turned_confidence > confidence:
        return turned_words, angle
    return words, 0


def ocr_words(image: Image.Image, scale: float) -> list[Word]:
    return _read(image, scale)[0]


@functools.cache
def _tesseract_has_osd() -> bool:
    import pytesseract

    try:
        return "osd" in pytesseract.get_languages(config="")
    except Exception:  # no languages listed: no orientation detection either
        return False


def _orientation(image: Image.Image) -> int:
    import pytesseract

    try:
        small = image.copy()
        small.thumbnail((1600, 1600))
        osd = pytesseract.image_to_osd(small, config="--psm 0 -c min_characters_to_try=5")
    except Exception:  # too little text to tell: keep the page as it is
        return 0
    for line in osd.splitlines():
        if line.startswith("Rotate:"):
            return int(line.split(":")[1]) % 360
    return 0


def _read(image: Image.Image, scale: float, lang: str = "eng") -> tuple[list[Word], float]:
    """Words of ``image`` (``scale`` converts pixels to PDF points: 72 / dpi) and
    their mean confidence."""
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
    confidences = []
    for i, text in enumerate(data["text"]):
        text = text.strip()
        conf = float(data["conf"][i])
        if not text or conf < 0:
            continue
        confidences.append(conf)
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        x, y = data["left"][i] * scale, data["top"][i] * scale
        w, h = data["width"][i] * scale, data["height"][i] * scale
        line_height[key] = max(line_height.get(key, 0.0), h)
        keys.append(key)
        words.append(Word(text, x, y, x + w, y + h, h, seq=i))
    if not words:
        return words, 0.0
    # Glyph boxes vary word by word ("can" vs "Judge"); a line's tallest word is
    # about its font size. Snap lines near the page's usual size onto it so body
    # text reads as one size and only real headings stand out.
    heights = sorted(line_height.values())
    usual = heights[len(heights) // 2]
    for word, key in zip(words, keys, strict=True):
        size = line_height[key]
        word.size = usual if abs(size - usual) < 0.25 * usual else size
    return words, sum(confidences) / len(confidences)
