"""A PDF whose structure we know, drawn with reportlab at test time (and by the benchmark).

Each page exercises one thing a reader notices: headings with levels, a hyphenated
line end, lists, running headers/footers and page numbers, two-column reading
order, a whitespace table and a ruled table with captions, and a page that is only
a picture of text (it needs OCR). :data:`TRUTH` says what must come back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

HEADER = "ACME Research Quarterly Report"
FOOTER = "Confidential draft for review"

HEADINGS: list[tuple[int, str]] = [
    (1, "Extraction Quality Report"),
    (2, "1 Introduction"),
    (3, "1.1 Scope of the Study"),
    (2, "2 Two Column Findings"),
    (2, "3 Measured Results"),
    (2, "4 Scanned Appendix"),
]
BULLETS = [
    "Faster parsing of long filings",
    "Stable memory on large inputs",
    "Signed webhook delivery",
]
NUMBERED = ["Upload the document", "Poll or wait for the webhook", "Download the result"]
DEHYPHENATED = ["extraction", "considerable"]  # broken across lines with a hyphen
KEPT_HYPHEN = ["state-of-the-art"]  # broken at its own hyphen: the hyphen stays
LEFT_COLUMN = [f"Alpha sentence number {i} belongs to the left column." for i in range(1, 19)]
RIGHT_COLUMN = [f"Omega sentence number {i} belongs to the right column." for i in range(1, 19)]
TABLE_WS = [
    ["Model", "Pages/s", "Memory", "Score"],
    ["Baseline", "12.5", "410", "71.2"],
    ["Layout", "48.0", "220", "83.9"],
    ["Ours", "96.3", "180", "88.4"],
]
TABLE_RULED = [
    ["Court", "Filings", "Median pages"],
    ["First Circuit", "1204", "17"],
    ["Ninth Circuit", "3310", "15"],
    ["Supreme Court", "61", "30"],
]
CAPTIONS = ["Table 1: Throughput by model.", "Table 2: Filings per court."]
OCR_WORDS = ["scanned", "appendix", "photocopy", "tesseract", "recognised"]


@dataclass
class Truth:
    headings: list[tuple[int, str]] = field(default_factory=lambda: list(HEADINGS))
    bullets: list[str] = field(default_factory=lambda: list(BULLETS))
    numbered: list[str] = field(default_factory=lambda: list(NUMBERED))
    dehyphenated: list[str] = field(default_factory=lambda: list(DEHYPHENATED))
    kept_hyphen: list[str] = field(default_factory=lambda: list(KEPT_HYPHEN))
    left: list[str] = field(default_factory=lambda: list(LEFT_COLUMN))
    right: list[str] = field(default_factory=lambda: list(RIGHT_COLUMN))
    tables: list[list[list[str]]] = field(default_factory=lambda: [TABLE_WS, TABLE_RULED])
    captions: list[str] = field(default_factory=lambda: list(CAPTIONS))
    furniture: list[str] = field(default_factory=lambda: [HEADER, FOOTER])
    ocr_words: list[str] = field(default_factory=lambda: list(OCR_WORDS))
    pages: int = 4


TRUTH = Truth()
PAGE_W, PAGE_H = 612.0, 792.0
LEFT, RIGHT = 72.0, 540.0


def build(path: Path) -> Truth:
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=(PAGE_W, PAGE_H))
    c.setTitle("Ground truth")
    _page_one(c)
    _furniture(c, 1)
    c.showPage()
    _page_two(c)
    _furniture(c, 2)
    c.showPage()
    _page_three(c)
    _furniture(c, 3)
    c.showPage()
    _page_four(c)
    _furniture(c, 4)
    c.showPage()
    c.save()
    return TRUTH


def build_long(path: Path, pages: int) -> None:
    """A long plain report (benchmarks, memory): headings, paragraphs and a table per page."""
    from reportlab.pdfgen.canvas import Canvas

    c = Canvas(str(path), pagesize=(PAGE_W, PAGE_H))
    for n in range(1, pages + 1):
        y = 720.0
        if n % 3 == 1:
            _text(c, LEFT, y, f"{n // 3 + 1} Section Heading Number {n}", "Helvetica-Bold", 14)
            y -= 28
        for p in range(4):
            words = (
                f"Paragraph {p} of page {n} carries ordinary body text about filings "
                "and their extraction into markdown for search. "
            ) * 4
            y = _paragraph(c, words.split(), y) - 10
        y = _table(c, TABLE_WS, y - 10, ruled=False)
        _furniture(c, n)
        c.showPage()
    c.save()


def _furniture(c: object, n: int) -> None:
    _text(c, LEFT, 760, HEADER, "Helvetica", 8)
    _text(c, LEFT, 40, FOOTER, "Helvetica", 8)
    _text(c, RIGHT - 20, 40, str(n), "Helvetica", 8)


def _text(
    c: object, x: float, y: float, text: str, font: str = "Helvetica", size: float = 10
) -> None:
    c.setFont(font, size)  # type: ignore[attr-defined]
    c.drawString(x, y, text)  # type: ignore[attr-defined]


def _paragraph(
    c: object, words: list[str], y: float, x0: float = LEFT, x1: float = RIGHT, size: float = 10
) -> float:
    """Left-aligned lines of ``words``; a word written "extrac-|tion" breaks there."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    line: list[str] = []
    lines: list[str] = []
    for word in words:
        if "|" in word:
            head, tail = word.split("|")
            lines.append(" ".join([*line, head]))
            line = [tail]
            continue
        trial = " ".join([*line, word])
        if line and stringWidth(trial, "Helvetica", size) > x1 - x0:
            lines.append(" ".join(line))
            line = [word]
        else:
            line.append(word)
    if line:
        lines.append(" ".join(line))
    for text in lines:
        _text(c, x0, y, text, "Helvetica", size)
        y -= size * 1.2
    return y


def _page_one(c: object) -> None:
    y = 700.0
    _text(c, LEFT, y, HEADINGS[0][1], "Helvetica-Bold", 20)
    y -= 36
    _text(c, LEFT, y, HEADINGS[1][1], "Helvetica-Bold", 14)
    y -= 22
    body = (
        "This report measures how well an engine recovers structure from documents. "
        "Document extrac-|tion at scale needs structure as well as text, and the effort "
        "required is considerable for long filings; the engine must keep up with "
        "state-|of-the-art tools while staying fast. Every claim here is checked by a test."
    )
    y = _paragraph(c, body.split(), y) - 8
    body2 = (
        "A second paragraph follows the first, separated by extra space, so that a reader "
        "sees two paragraphs and an engine should too. It has a con-|siderable length "
        "to wrap over more than one line of the page."
    )
    y = _paragraph(c, body2.split(), y) - 16
    _text(c, LEFT, y, HEADINGS[2][1], "Helvetica-Bold", 12)
    y -= 20
    y = _paragraph(c, "The study covers three goals, listed here:".split(), y) - 6
    for item in BULLETS:
        _text(c, LEFT + 10, y, "\u2022", "Helvetica", 10)
        _text(c, LEFT + 22, y, item, "Helvetica", 10)
        y -= 14
    y -= 8
    y = _paragraph(c, "A client uses the service in three steps:".split(), y) - 6
    for i, item in enumerate(NUMBERED, 1):
        _text(c, LEFT + 10, y, f"{i}.", "Helvetica", 10)
        _text(c, LEFT + 24, y, item, "Helvetica", 10)
        y -= 14


def _page_two(c: object) -> None:
    _text(c, LEFT, 700, HEADINGS[3][1], "Helvetica-Bold", 14)
    mid = (LEFT + RIGHT) / 2
    for x0, x1, sentences in ((LEFT, mid - 12, LEFT_COLUMN), (mid + 12, RIGHT, RIGHT_COLUMN)):
        y = 672.0
        words = " ".join(sentences).split()
        _paragraph(c, words, y, x0, x1)


def _table(c: object, rows: list[list[str]], y: float, ruled: bool) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    widths = [150.0, 100.0, 100.0, 100.0][: len(rows[0])]
    row_h = 18.0
    top = y + 13
    for r, row in enumerate(rows):
        x = LEFT
        for k, cell in enumerate(row):
            font = "Helvetica-Bold" if r == 0 and ruled else "Helvetica"
            if k == 0:
                _text(c, x + 6, y, cell, font, 10)
            else:  # numbers right-aligned, as papers do
                _text(c, x + widths[k] - 6 - stringWidth(cell, font, 10), y, cell, font, 10)
            x += widths[k]
        y -= row_h
    bottom = y + 13
    if ruled:
        x = LEFT
        xs = [x]
        for w in widths:
            x += w
            xs.append(x)
        for k in range(len(rows) + 1):
            yy = top - k * row_h
            c.line(LEFT, yy, xs[-1], yy)  # type: ignore[attr-defined]
        for xx in xs:
            c.line(xx, top, xx, bottom)  # type: ignore[attr-defined]
    else:
        c.line(LEFT, top, LEFT + sum(widths), top)  # type: ignore[attr-defined]
        c.line(LEFT, bottom, LEFT + sum(widths), bottom)  # type: ignore[attr-defined]
    return bottom - 10


def _page_three(c: object) -> None:
    _text(c, LEFT, 700, HEADINGS[4][1], "Helvetica-Bold", 14)
    y = _paragraph(c, "The tables below give the measured figures.".split(), 676) - 14
    _text(c, LEFT, y, CAPTIONS[0], "Helvetica", 10)
    y = _table(c, TABLE_WS, y - 24, ruled=False) - 24
    y = _paragraph(c, "The second table counts filings per court in the corpus.".split(), y) - 14
    _text(c, LEFT, y, CAPTIONS[1], "Helvetica", 10)
    _table(c, TABLE_RULED, y - 26, ruled=True)


def _page_four(c: object) -> None:
    """A heading in the text layer, then the body only as a picture (a scanned appendix)."""
    from reportlab.lib.utils import ImageReader

    _text(c, LEFT, 700, HEADINGS[5][1], "Helvetica-Bold", 14)
    image = _rendered_text(
        [
            "This scanned appendix is a photocopy of a signed page.",
            "Only tesseract can read it: the text was recognised from pixels.",
        ]
    )
    c.drawImage(ImageReader(image), LEFT, 520, width=468, height=140)  # type: ignore[attr-defined]


def _rendered_text(lines: list[str]) -> object:
    """Text drawn into pixels (no text layer survives): a tiny PDF rasterised by pdfium."""
    import pypdfium2 as pdfium
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(468, 140))
    y = 100.0
    for line in lines:
        c.setFont("Helvetica", 14)
        c.drawString(10, y, line)
        y -= 30
    c.showPage()
    c.save()
    pdf = pdfium.PdfDocument(buf.getvalue())
    image = pdf[0].render(scale=200 / 72, grayscale=True).to_pil()
    pdf.close()
    return image
