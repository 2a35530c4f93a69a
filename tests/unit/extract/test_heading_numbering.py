"""Headings that share one style are nested by their numbering (NCSC's opinion: the
court's name, then "I. Background", then "A. ..."), on a generated opinion."""

from __future__ import annotations

from pathlib import Path

from extract_helpers import extract
from reportlab.pdfgen import canvas

WIDTH = 612.0
BODY = (
    "The parties dispute whether the statute reaches the game as it is now played, and "
    "the trial court entered judgment for the State after hearing the evidence of both "
    "sides on the question of skill and chance in the game."
)


def _body(c: canvas.Canvas, y: float, lines: int = 8) -> float:
    c.setFont("Times-Roman", 12)
    words = (BODY + " ") * 3
    for i in range(lines):
        c.drawString(72, y, words[i * 40 : i * 40 + 88])
        y -= 24
    return y - 12


def _centred(c: canvas.Canvas, y: float, marker: str, title: str, font: str) -> None:
    # as NCSC sets them: the marker, a wide gap, the title, centred as one line
    c.setFont(font, 12)
    width = c.stringWidth(marker, font, 12) + 24 + c.stringWidth(title, font, 12)
    x = (WIDTH - width) / 2
    c.drawString(x, y, marker)
    c.drawString(x + c.stringWidth(marker, font, 12) + 24, y, title)


def _opinion(path: Path) -> None:
    c = canvas.Canvas(str(path), pagesize=(WIDTH, 792))
    c.setFont("Times-Roman", 12)
    c.drawCentredString(WIDTH / 2, 720, "IN THE SUPREME COURT OF EXAMPLE")
    _body(c, 680)
    c.showPage()
    _centred(c, 720, "I.", "Background", "Times-Bold")
    _body(c, 690)
    c.showPage()
    c.setFont("Times-Bold", 12)
    c.drawString(72, 720, "A. The First Test Under the Statute")
    y = _body(c, 690)
    c.setFont("Times-Bold", 12)
    c.drawString(72, y, "B. The Standard of Review")
    _body(c, y - 30)
    c.showPage()
    _centred(c, 720, "II.", "Conclusion", "Times-Bold")
    _body(c, 690)
    c.showPage()
    c.save()


def _headings(result: dict[str, object]) -> list[tuple[int, str]]:
    pages = result["pages"]
    assert isinstance(pages, list)
    return [(b["level"], b["text"]) for p in pages for b in p["blocks"] if b["kind"] == "heading"]


def test_headings_in_one_style_nest_by_their_numbering_below_the_courts_name(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "opinion.pdf"
    _opinion(pdf)
    result = extract(pdf, ocr="off")
    assert _headings(result) == [
        (1, "IN THE SUPREME COURT OF EXAMPLE"),
        (2, "I. Background"),
        (3, "A. The First Test Under the Statute"),
        (3, "B. The Standard of Review"),
        (2, "II. Conclusion"),
    ]
    assert "\n## I. Background\n" in result["markdown"]
    assert "\n### A. The First Test Under the Statute\n" in result["markdown"]


def test_a_page_read_alone_keeps_its_headings_levels(tmp_path: Path) -> None:
    pdf = tmp_path / "opinion.pdf"
    _opinion(pdf)
    assert _headings(extract(pdf, ocr="off", pages=(3,))) == [
        (3, "A. The First Test Under the Statute"),
        (3, "B. The Standard of Review"),
    ]
