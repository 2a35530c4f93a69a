"""A PDF page's text layer as :class:`Word` objects, read through pdfium's C API.

Cost matters here: every ctypes call has a fixed price, paid per character if we
let it, so we ask pdfium for the page's whole text once (it already joins ligatures, inserts spaces and marks
soft line-end hyphens as U+FFFE) and then only for the boxes of each word's first
and last character plus the font of each new text object. That is three calls
per word instead of three per character.
"""

from __future__ import annotations

import ctypes
import math
import re
from collections.abc import Callable, Container, Iterable

import pypdfium2 as pdfium
import pypdfium2.raw as raw

from pagewire.extract import pdfium_calls as calls
from pagewire.extract.hyphens import keeps_hyphen, vocabulary
from pagewire.extract.scripts import Run, mark_runs
from pagewire.extract.words import Word

_WORD = re.compile(r"[^\s\ufffe\x00-\x1f]+")
_BROKEN = re.compile(r"\S*\ufffe\s*\S*")
_BOLD_NAMES = ("bold", "black", "heavy", "semibold", "demi", "medi", "cmbx", "cmb10", "-bd")
_ITALIC_NAMES = ("italic", "oblique", "cmti", "cmmi", "-it")
_FONT_ITALIC_FLAG = 0x40
_FONT_FORCE_BOLD_FLAG = 0x40000


class _FontCache:
    """Font facts per pdfium text object: one text object shares one font and matrix."""

    def __init__(self, textpage: pdfium.PdfTextPage) -> None:
        self._tp = calls.handle(textpage.raw)
        self.cache: dict[int, tuple[float, bool, bool, bool]] = {}  # text object -> facts
        self.text = ""  # the page's text, for the characters of words read one by one
        self._name = ctypes.create_string_buffer(256)
        self._name_size = ctypes.c_ulong(len(self._name))
        self._flags = ctypes.c_int()
        self._flags_ref = ctypes.byref(self._flags)
        self._matrix = raw.FS_MATRIX()
        self._matrix_ref = ctypes.byref(self._matrix)
        # OCR-layer scans hold one text object per word but only a few fonts.
        self._styles: dict[tuple[bytes, int], tuple[bool, bool]] = {}

    def read(self, index: int) -> tuple[float, bool, bool, bool]:
        """(size, bold, italic, rotated) of the text object holding character ``index``."""
        size = calls.FONT_SIZE(self._tp, index)
        rotated = False
        # Many producers set Tf 1 and scale with the text matrix; pdfium's char
        # matrix carries that scale, so fold it in to get the size a reader sees.
        if calls.CHAR_MATRIX(self._tp, index, self._matrix_ref):
            m = self._matrix
            scale = math.sqrt(abs(m.a * m.d - m.b * m.c))
            if scale > 0:
                size *= scale
                # Turned when the baseline (a, b) is: a slanted matrix (c alone, a
                # producer's synthetic italic) leaves the baseline level.
                rotated = abs(m.b) > 0.05 * scale or m.a < 0
        n = calls.FONT_INFO(self._tp, index, self._name, self._name_size, self._flags_ref)
        name = self._name.value if n else b""
        flags = self._flags.value if n else 0
        style = self._styles.get((name, flags))
        if style is None:
            weight = calls.FONT_WEIGHT(self._tp, index)
            style = self._styles[(name, flags)] = _style(name, flags, weight)
        bold, italic = style
        return size, bold, italic, rotated


def _style(raw_name: bytes, flags: int, weight: int) -> tuple[bool, bool]:
    name = raw_name.decode("latin-1", "replace").lower()
    bold = (
        weight >= 600 or bool(flags & _FONT_FORCE_BOLD_FLAG) or any(b in name for b in _BOLD_NAMES)
    )
    italic = bool(flags & _FONT_ITALIC_FLAG) or any(i in name for i in _ITALIC_NAMES)
    return bold, italic


def page_words(
    page: pdfium.PdfPage,
    textpage: pdfium.PdfTextPage,
    height: float,
    figure_text: set[int] | frozenset[int] = frozenset(),
    document: Container[str] | None = None,
    text: str | None = None,
) -> tuple[list[Word], list[Word], list[Word]]:
    """The page's horizontal words in pdfium's order with top-left boxes, its rotated
    words (margin stamps such as arXiv's), which stay out of the body's lines, and the
    words drawn by the text objects in ``figure_text`` (a figure's labels).

    ``document`` is the document's vocabulary for line-end hyphens the page's own
    words do not settle (:class:`~pagewire.extract.hyphens.DocumentWords`); ``text``
    the page's text, if already read."""
    if text is None:
        text = textpage.get_text_range()
    if not text or text.isspace():
        return [], [], []
    tp = textpage.raw
    if raw.FPDFText_CountChars(tp) != len(text):
        # pdfium's text index and char index only differ for exotic encodings; map them.
        index_of = _index_map(tp, len(text))
    else:
        index_of = None
    fonts = _FontCache(textpage)
    fonts.text = text
    cache = fonts.cache
    # Hoisted into locals: this loop runs for every word of every page.
    object_of, loose = calls.TEXT_OBJECT_ADDRESS, calls.LOOSE_CHAR_BOX
    tp_address = calls.handle(tp)
    rect = raw.FS_RECTF()
    rect_ref = ctypes.byref(rect)
    words: list[Word] = []
    rotated: list[Word] = []
    drawn: list[Word] = []
    n_text = len(text)
    page_vocabulary: set[str] | None = None
    for seq, match in enumerate(_WORD.finditer(text)):
        start, end = match.span()
        first, last = start, end - 1
        if index_of is not None:
            first, last = index_of(first), index_of(last)
        if not loose(tp_address, first, rect_ref):
            continue
        x0, top, bottom = rect.left, rect.top, rect.bottom
        several = last != first
        if several and loose(tp_address, last, rect_ref):
            # max(top, rect.top), min(bottom, rect.bottom) without two builtin calls
            if rect.top > top:
                top = rect.top
            if rect.bottom < bottom:
                bottom = rect.bottom
        x1 = rect.right
        key = object_of(tp_address, first) or 0
        facts = cache.get(key)
        if facts is None:
            facts = cache[key] = fonts.read(first)
        size, bold, italic, turned = facts
        if x1 < x0:  # right-to-left or rotated runs: keep a sane box
            x0, x1 = x1, x0
        word_text = match.group()
        if several and (object_of(tp_address, last) or 0) != key:
            # The word changes text object (font or position) inside: an exponent
            # ("10" + raised "20"), an index ("d" + lowered "k"), a footnote mark.
            runs = _runs(tp_address, start, end, index_of, fonts.text, rect_ref, rect)
            word_text, base = mark_runs(runs)
            if word_text.startswith(("<sup>", "<sub>")):
                # "<sup>4</sup>We": the word's size is its text's, not its mark's
                size *= base / runs[0].size
        soft = end < n_text and text[end] == "\ufffe"
        if soft:
            # pdfium marks every line-end hyphen after a letter as soft; a hyphen in
            # "left-to-right" or before "Based" belongs to a compound, so keep it.
            if page_vocabulary is None:
                # the broken words' halves are not words of the page
                page_vocabulary = layer_vocabulary((text,))
            if keeps_hyphen(
                match.group(), _next_word(text, end + 1), page_vocabulary, document=document
            ):
                word_text += "-"
        target = drawn if figure_text and key in figure_text else rotated if turned else words
        target.append(
            Word(
                word_text,
                x0,
                height - top,
                x1,
                height - bottom,
                size if size > 0.5 else abs(top - bottom),
                bold,
                italic,
                soft,
                seq,
            )
        )
    return words, rotated, drawn


def layer_vocabulary(texts: Iterable[str]) -> set[str]:
    """The words of text-layer texts, leaving out the halves of words broken at line
    ends (which are not words of the document)."""
    return vocabulary(_BROKEN.sub(" ", text) for text in texts)


def _runs(
    tp_address: calls.Handle,
    start: int,
    end: int,
    index_of: Callable[[int], int] | None,
    text: str,
    rect_ref: object,
    rect: raw.FS_RECTF,
) -> list[Run]:
    """The word's characters grouped by text object, each group with its size and bottom.

    Only words that change text object come here (a few per page). The loose box's
    height (the font's ascent to descent) stands in for the size: only ratios between
    runs matter, and it costs no font calls."""
    runs: list[Run] = []
    for i in range(start, end):
        index = index_of(i) if index_of is not None else i
        key = calls.TEXT_OBJECT_ADDRESS(tp_address, index) or 0
        if not calls.LOOSE_CHAR_BOX(tp_address, index, rect_ref):
            if runs:  # no box to place it by: it stays with the character before
                runs[-1].text += text[i]
            continue
        bottom = -rect.bottom  # pdf y grows upwards; flip so larger is lower on the page
        if runs and runs[-1].key == key:
            run = runs[-1]
            run.text += text[i]
            run.bottom = max(run.bottom, bottom)
        else:
            runs.append(Run(key, text[i], rect.top - rect.bottom, bottom))
    return runs


def _next_word(text: str, start: int) -> str:
    while start < len(text) and text[start].isspace():
        start += 1
    end = start
    while end < len(text) and not text[end].isspace() and end - start < 40:
        end += 1
    return text[start:end]


def _index_map(tp: object, n: int) -> Callable[[int], int]:
    def index_of(text_index: int) -> int:
        value = raw.FPDFText_GetCharIndexFromTextIndex(tp, text_index)
        return value if value >= 0 else min(text_index, n - 1)

    return index_of
