"""PNG, JPEG and TIFF (one page per frame) through Pillow and tesseract.

An image is refused (``invalid_document``) past Pillow's pixel limit: a few
hundred kilobytes of PNG can declare 30000 x 30000 pixels, which decoded would
take the child's whole memory. Pillow only warns between its limit and twice it;
here the warning is an error too, and every TIFF frame is held to the same limit.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from pagewire.extract import ocr
from pagewire.extract.base import ExtractError, ExtractOptions, Page
from pagewire.extract.formats import IMAGE_TYPES
from pagewire.extract.layout import lay_out, segment_rows
from pagewire.extract.profile import Profile
from pagewire.extract.words import Word

DEFAULT_DPI = 200.0  # what a scan without a resolution tag most likely is
MIN_OCR_PIXELS = 1600  # small images are scaled up: tesseract wants ~30px letters


class ImageDocument:
    def __init__(self, path: Path, options: ExtractOptions) -> None:
        if path.stat().st_size == 0:
            raise ExtractError("empty_file", "the file is empty")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                self._image = Image.open(path)  # the first frame's size is checked here
            self._image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ExtractError(
                "invalid_document", f"the image is too large to read ({exc})"
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ExtractError("invalid_document", f"the image cannot be read ({exc})") from exc
        self.page_count = getattr(self._image, "n_frames", 1)
        self._options = options

    def read_page(self, number: int) -> Page:
        if not 1 <= number <= self.page_count:
            raise ExtractError(
                "page_out_of_range",
                f"page {number} was asked for but the document has {self.page_count} pages",
            )
        self._image.seek(number - 1)
        _check_pixels(self._image, number)
        frame = self._image.convert("L")
        dpi = float((self._image.info.get("dpi") or (DEFAULT_DPI,))[0] or DEFAULT_DPI)
        scale = 72.0 / dpi
        width, height = frame.width * scale, frame.height * scale
        if self._options.ocr == "off":
            return Page(number, width, height, "", warnings=("image page and OCR is off",))
        if not ocr.tesseract_available():
            return Page(number, width, height, "", warnings=(ocr.UNAVAILABLE,))
        factor = 1.0
        if max(frame.size) < MIN_OCR_PIXELS:
            factor = MIN_OCR_PIXELS / max(frame.size)
            frame = frame.resize((int(frame.width * factor), int(frame.height * factor)))
        read = ocr.read_upright(frame, scale / factor)
        warnings: tuple[str, ...] = ()
        if read.angle:
            warnings = (
                f"image was sideways: read after turning it {read.angle} degrees clockwise",
            )
            if read.angle in (90, 270):
                width, height = height, width
        layout = lay_out(
            segment_rows(read.words), _profile(read.words), width, height, figures=read.figures
        )
        if not layout.blocks:
            warnings = (*warnings, "no text found by OCR")
        return layout.page(number, width, height, warnings=warnings, ocr=True)

    def close(self) -> None:
        self._image.close()


def _check_pixels(image: Image.Image, page: int | None = None) -> None:
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and image.width * image.height > limit:
        where = f"page {page} of the image" if page is not None else "the image"
        raise ExtractError(
            "invalid_document",
            f"{where} is {image.width} x {image.height} pixels, more than the "
            f"{limit:,} pixels pagewire reads",
        )


def _profile(words: list[Word]) -> Profile:
    sizes = sorted(w.size for w in words)
    return Profile(body_size=sizes[len(sizes) // 2] if sizes else 10.0)


class ImageEngine:
    media_types = IMAGE_TYPES

    def open(self, path: Path, media_type: str, options: ExtractOptions) -> ImageDocument:
        return ImageDocument(path, options)
