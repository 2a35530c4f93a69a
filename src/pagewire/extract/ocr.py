"""OCR through tesseract (pytesseract) into the same :class:`Word` shape as a text layer.

Only called for pages with no usable text layer (or every page with ``ocr=force``).
Tesseract is a system binary; when it is missing we say so in the page's warnings
rather than returning a silently empty page.
"""

from __future__ import annotations

import functools
import os
import shutil

from PIL import Image

from pagewire.extract.words import Word

OCR_DPI = 250
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


def ocr_words(image: Image.Image, scale: float, lang: str = "eng") -> list[Word]:
    """Words of ``image``; ``scale`` converts its pixels to PDF points (72 / dpi)."""
    import pytesseract

    # Tesseract's OpenMP threads fight each other and the other jobs on a small
    # machine: one thread is ~5x faster here (1.9 s instead of 10 s per page).
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    data = pytesseract.image_to_data(
        image, lang=lang, config="--psm 3", output_type=pytesseract.Output.DICT
    )
    words: list[Word] = []
    line_height: dict[tuple[int, int, int], float] = {}
    keys = []
    for i, text in enumerate(data["text"]):
        text = text.strip()
        if not text or float(data["conf"][i]) < 0:
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        x, y = data["left"][i] * scale, data["top"][i] * scale
        w, h = data["width"][i] * scale, data["height"][i] * scale
        line_height[key] = max(line_height.get(key, 0.0), h)
        keys.append(key)
        words.append(Word(text, x, y, x + w, y + h, h, seq=i))
    if not words:
        return words
    # Glyph boxes vary word by word ("can" vs "Judge"); a line's tallest word is
    # about its font size. Snap lines near the page's usual size onto it so body
    # text reads as one size and only real headings stand out.
    heights = sorted(line_height.values())
    usual = heights[len(heights) // 2]
    for word, key in zip(words, keys, strict=True):
        size = line_height[key]
        word.size = usual if abs(size - usual) < 0.25 * usual else size
    return words
