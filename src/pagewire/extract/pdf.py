"""PDF documents through pypdfium2: text layer (or OCR) -> layout -> :class:`Page`.

Per-document state is small and bounded: the outline's titles, the profile learnt
from at most :data:`~pagewire.extract.profile.SAMPLE_PAGES` pages, and the words of
those sampled pages until they are read (so sampling costs no second extraction).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as raw

from pagewire.extract import ocr
from pagewire.extract.base import BBox, Block, ExtractError, ExtractOptions, Page, iter_selected
from pagewire.extract.figures import Figure, assign_words, page_graphics
from pagewire.extract.formats import PDF_TYPES
from pagewire.extract.hyphens import DocumentWords
from pagewire.extract.layout import Rule, lay_out, segment_rows
from pagewire.extract.lines import Segment
from pagewire.extract.ocr_ahead import OcrAhead
from pagewire.extract.pdf_text import layer_vocabulary, page_words
from pagewire.extract.profile import SAMPLE_PAGES, Profile, ProfileBuilder, norm_title
from pagewire.extract.words import Word

MAX_OUTLINE = 2000
MIN_TEXT_CHARS = 20  # fewer non-space characters than this over a big image: a scan


# A page's OCR (words, figures, the turn that made it readable); None if blank.
OcrRead = ocr.Reading | None


class _PageSource:
    """What one pdfium page gives us before layout."""

    __slots__ = ("figures", "height", "image_cover", "rotated", "rows", "rules", "width", "words")

    def __init__(
        self,
        words: list[Word],
        rotated: list[Word],
        rules: list[Rule],
        image_cover: float,
        width: float,
        height: float,
        figures: list[Figure] | None = None,
    ) -> None:
        self.words = words
        self.rotated = rotated
        self.rules = rules
        self.image_cover = image_cover
        self.width = width
        self.height = height
        self.figures = figures or []
        # The words' rows, once the profile has segmented them: reading the page
        # segments the same words and rules again unless OCR replaces them.
        self.rows: list[list[Segment]] | None = None


# A page held open with its text page and its text.
_OpenPage = tuple[pdfium.PdfPage, pdfium.PdfTextPage, str]


class PdfDocument:
    def __init__(self, path: Path, options: ExtractOptions) -> None:
        if path.stat().st_size == 0:
            raise ExtractError("empty_file", "the file is empty")
        with path.open("rb") as f:
            head = f.read(1024)
        if b"%PDF-" not in head:
            raise ExtractError("invalid_document", "the file is not a PDF (no %PDF- header)")
        try:
            self._pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as exc:
            if (
                getattr(exc, "err_code", None) == raw.FPDF_ERR_PASSWORD
                or "password" in str(exc).lower()
            ):
                raise ExtractError(
                    "encrypted_document", "the PDF is encrypted and needs a password"
                ) from exc
            raise ExtractError(
                "invalid_document", f"the file is not a readable PDF ({exc})"
            ) from exc
        self.page_count = len(self._pdf)
        if self.page_count == 0:
            self._pdf.close()
            raise ExtractError("invalid_document", "the PDF has no pages (truncated or corrupt)")
        self._options = options
        self._cache: dict[int, _PageSource] = {}
        self._document_words = DocumentWords(set)  # until the profile has sampled it
        self.profile = self._learn_profile()
        # Pages are read in the order of the selection, so the scans among the next
        # few can be OCR'd while this one is.
        self._ahead: OcrAhead[OcrRead] = OcrAhead(
            options.ocr_lanes, iter_selected(self.page_count, options), self._plan_ocr
        )

    # -- document-wide, bounded ------------------------------------------------

    def _learn_profile(self) -> Profile:
        builder = ProfileBuilder()
        sampled = to_ocr = 0
        # Sample the document, not the selection: heading levels must not change
        # with which pages a request asks for.
        numbers = _sample(list(range(1, self.page_count + 1)), self.page_count)
        opened = self._open_pages(numbers)
        try:
            # The sampled pages' words are the document's vocabulary for line-end
            # hyphens (the same pages in every shard of a split job); held open so
            # that their text is read before any of their words are, and only once.
            texts = [text for _, _, text in opened.values()]
            self._document_words = DocumentWords(lambda: layer_vocabulary(texts))
            for number, page in opened.items():
                try:
                    src = self._source(number, page)
                except Exception:  # a bad sampled page is reported when it is read
                    continue
                src.rows = segment_rows(src.words, src.rules)
                if self._options.pages is None or number in self._options.pages:
                    self._cache[number] = src
                builder.add_page(number, src.rows, src.height)
                sampled += 1
                to_ocr += self._wants_ocr(src)
        finally:
            for page, textpage, _ in opened.values():
                textpage.close()
                page.close()
        # How much of the document is scanned: how much work its pages are.
        self.scan_share = to_ocr / sampled if sampled else 0.0
        return builder.build(self._outline())

    def _open_pages(self, numbers: list[int]) -> dict[int, _OpenPage]:
        """The pages that open, each with its text page and text, in ``numbers``' order."""
        opened: dict[int, _OpenPage] = {}
        for number in numbers:
            try:
                page = self._pdf[number - 1]
            except Exception:  # reported when the page is read
                continue
            try:
                textpage = page.get_textpage()
            except Exception:
                page.close()
                continue
            try:
                text = textpage.get_text_range()
            except Exception:  # as for a page that does not open: skipped here
                textpage.close()
                page.close()
                continue
            opened[number] = (page, textpage, text)
        return opened

    def _outline(self) -> dict[str, int]:
        titles: dict[str, int] = {}
        try:
            for i, item in enumerate(self._pdf.get_toc(max_depth=6)):
                if i >= MAX_OUTLINE:
                    break
                title = norm_title(item.get_title() or "")
                if title and title not in titles:
                    titles[title] = item.level
        except Exception:  # a broken outline is only a lost hint
            return {}
        return titles

    # -- one page ----------------------------------------------------------------

    def read_page(self, number: int) -> Page:
        if not 1 <= number <= self.page_count:
            raise ExtractError(
                "page_out_of_range",
                f"page {number} was asked for but the document has {self.page_count} pages",
            )
        warnings: list[str] = []
        self._ahead.look_ahead(number)
        try:
            src = self._cache.pop(number, None) or self._source(number)
        except Exception as exc:
            self._ahead.forget(number)
            return Page(number, 0.0, 0.0, "", warnings=(f"page could not be read: {exc}",))
        try:
            return self._read(number, src, warnings)
        finally:
            self._ahead.forget(number)

    def _wants_ocr(self, src: _PageSource) -> bool:
        return self._options.ocr == "force" or (self._options.ocr == "auto" and _needs_ocr(src))

    def _read(self, number: int, src: _PageSource, warnings: list[str]) -> Page:
        words, used_ocr = src.words, False
        width, height = src.width, src.height
        figures, rules = src.figures, src.rules
        if self._wants_ocr(src):
            if ocr.tesseract_available():
                try:
                    read = self._ocr_words(number, src, warnings)
                except Exception as exc:  # tesseract or rendering failed: say so, go on
                    warnings.append(f"ocr_failed: {exc}")
                    read = None
                if read is not None:
                    words, figures, turned = read
                    used_ocr, rules = True, []
                    if turned:
                        width, height = height, width
            else:
                warnings.append(ocr.UNAVAILABLE)
        elif self._options.ocr == "off" and _needs_ocr(src):
            warnings.append("page has no usable text layer and OCR is off")
        rows = src.rows if words is src.words else None  # (None: not sampled, or OCR'd)
        layout = lay_out(
            rows or segment_rows(words, rules),
            self.profile,
            width,
            height,
            tables=self._options.tables,
            figures=figures,
            rules=rules,
        )
        if src.rotated and not used_ocr:  # (a figure's rotated labels are in the figure)
            layout.furniture.append(_rotated_block(src.rotated))
        if not layout.blocks and not warnings and not layout.furniture:
            warnings.append("page has no text")
        return layout.page(number, width, height, warnings=warnings, ocr=used_ocr)

    def _source(self, number: int, opened: _OpenPage | None = None) -> _PageSource:
        """Page ``number``'s words and graphics; ``opened``: the page already open (and
        left open: its opener closes it)."""
        if opened is None:
            page = self._pdf[number - 1]
            try:
                textpage = page.get_textpage()
                try:
                    return self._source(number, (page, textpage, textpage.get_text_range()))
                finally:
                    textpage.close()
            finally:
                page.close()
        page, textpage, text = opened
        width, height = page.get_size()
        graphics = page_graphics(page, width, height)
        words, rotated, drawn = page_words(
            page, textpage, height, graphics.figure_text, self._document_words, text
        )
        figures = graphics.figures
        if figures and not _needs_ocr_words(words + drawn, height, graphics.image_cover):
            words = assign_words(figures, words, drawn)
            rotated = assign_words(figures, rotated, [])
        else:
            words, figures = words + drawn, []
        return _PageSource(
            words, rotated, graphics.rules, graphics.image_cover, width, height, figures
        )

    def _ocr_words(
        self, number: int, src: _PageSource, warnings: list[str]
    ) -> tuple[list[Word], list[Figure], bool] | None:
        """(words, figures, whether width and height swapped); None if the page is blank."""
        read = self._ocr(number)
        if read is None:
            warnings.append("page is blank: nothing to OCR")
            return None
        if read.angle:
            warnings.append(
                f"page was scanned sideways: read after turning it {read.angle} degrees "
                "clockwise; boxes refer to the turned page"
            )
            return read.words, read.figures, read.angle in (90, 270)
        words = read.words
        if self._options.ocr == "auto":
            # Keep what the text layer does say (a typed heading over a scanned
            # body, a stamp): its fonts and exact text beat OCR's.
            words = _merge(src.words, words)
        return words, read.figures, False

    def _ocr(self, number: int) -> OcrRead:
        if self._ahead.started(number):
            return self._ahead.take(number)
        return self._ocr_work(number)()

    def _plan_ocr(self, number: int) -> Callable[[], OcrRead] | None:
        """Page ``number``'s OCR, rendered now and read later; None if it needs none."""
        if not ocr.tesseract_available():
            return None
        try:
            src = self._cache.get(number) or self._source(number)
        except Exception:  # reported when the page is read
            return None
        self._cache[number] = src
        if not self._wants_ocr(src):
            return None
        try:
            return self._ocr_work(number)
        except Exception:  # rendering failed: read_page tries again and says why
            return None

    def _ocr_work(self, number: int) -> Callable[[], OcrRead]:
        """Renders page ``number`` now; the returned call runs tesseract on it."""
        page = self._pdf[number - 1]
        try:
            scale = ocr.render_scale(*page.get_size())
            bitmap = page.render(scale=scale, grayscale=True)
            image = bitmap.to_pil()
        finally:
            page.close()
        if ocr.is_blank(image):
            return lambda: None  # a blank scanned page (separator, back side): nothing to read
        return functools.partial(ocr.read_upright, image, 1 / scale)

    def close(self) -> None:
        self._ahead.close()
        self._cache.clear()
        self._pdf.close()


def _merge(layer: list[Word], ocr_words: list[Word]) -> list[Word]:
    if not layer:
        return ocr_words
    kept = list(layer)
    for w in ocr_words:
        cx, cy = (w.x0 + w.x1) / 2, (w.y0 + w.y1) / 2
        if not any(t.x0 <= cx <= t.x1 and t.y0 <= cy <= t.y1 for t in layer):
            kept.append(w)
    return kept


def _needs_ocr(src: _PageSource) -> bool:
    return _needs_ocr_words(src.words, src.height, src.image_cover)


def _needs_ocr_words(words: list[Word], height: float, image_cover: float) -> bool:
    # Stamps, running headers and page numbers often survive on scanned pages
    # as text; only text in the body band says the page has a usable layer.
    return not _has_body_text(words, height) and (image_cover > 0.1 or not words)


def _has_body_text(words: list[Word], height: float) -> bool:
    top, bottom = 0.1 * height, 0.9 * height
    chars = 0
    for w in words:
        if w.y0 > top and w.y1 < bottom:
            chars += len(w.text)
            if chars >= MIN_TEXT_CHARS:
                return True
    return False


def _sample(numbers: list[int], page_count: int) -> list[int]:
    if len(numbers) <= SAMPLE_PAGES:
        return numbers
    head = numbers[:3]
    rest = numbers[3:]
    step = len(rest) / (SAMPLE_PAGES - 3)
    return head + [rest[int(i * step)] for i in range(SAMPLE_PAGES - 3)]


def _rotated_block(words: list[Word]) -> Block:
    text = " ".join(w.text for w in sorted(words, key=lambda w: w.seq))
    box = BBox(
        round(min(w.x0 for w in words), 1),
        round(min(w.y0 for w in words), 1),
        round(max(w.x1 for w in words), 1),
        round(max(w.y1 for w in words), 1),
    )
    return Block(kind="margin_note", text=text, markdown=text, bbox=box)


class PdfEngine:
    media_types = PDF_TYPES

    def open(self, path: Path, media_type: str, options: ExtractOptions) -> PdfDocument:
        return PdfDocument(path, options)


__all__ = ["PdfDocument", "PdfEngine"]
