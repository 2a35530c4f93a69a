"""Lines a reader sees set apart from the running text (issue 15, fidelity round 2): an
OCR layer's reading of handwritten initials, a filing's centred caption and date
lines, a docket line over a paragraph, a display equation's number; and the text
around them read as it runs. The corpus pages are in tests/fidelity/expectations.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from extract_helpers import extract
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from pagewire.extract.wordlike import garbled

SENTENCE = (
    "The parties dispute the meaning of the agreement they signed in the spring, and "
    "each reads its terms in the light most favourable to its own position at trial."
)


OTHER = (
    "Courts have long held that manifest injustice and fundamental fairness require "
    "relief where coercion or extraordinary circumstances undermine a plea."
)


def _justified(
    c: canvas.Canvas, x: float, y: float, text: str, right: float, size: float = 12
) -> None:
    """``text`` from ``x`` to ``right``, its word spaces stretched as justified type is."""
    line = c.beginText(x, y)
    line.setFont("Times-Roman", size)
    gaps = max(text.count(" "), 1)
    line.setWordSpace((right - x - stringWidth(text, "Times-Roman", size)) / gaps)
    line.textOut(text)
    c.drawText(line)


def _lines(c: canvas.Canvas, lines: list[str], y: float, font: str = "Times-Roman") -> float:
    c.setFont(font, 12)
    for line in lines:
        c.drawString(72, y, line)
        y -= 24
    return y


def _filler(count: int, sentence: str = SENTENCE) -> list[str]:
    cut = sentence.rindex(" ", 0, len(sentence) // 2)
    return [sentence[:cut], sentence[cut + 1 :]] * (count // 2)


def _body(c: canvas.Canvas, count: int, y: float, sentence: str = SENTENCE) -> float:
    """``count`` lines of justified running text, double-spaced as filings are."""
    for line in _filler(count, sentence):
        _justified(c, 72, y, line, 540)
        y -= 24
    return y


def _headings(result: dict[str, Any]) -> list[str]:
    return [b["text"] for p in result["pages"] for b in p["blocks"] if b["kind"] == "heading"]


def _paragraphs(result: dict[str, Any]) -> list[str]:
    return [b for b in result["markdown"].split("\n\n") if not b.startswith("<!--")]


def _scanned_certification(path: Path) -> None:
    """Two pages of a typed certification whose foot carries the page's number and
    the signer's initials, written by hand and read by OCR as letters, set large."""
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    c.setFont("Times-Bold", 13)
    c.drawString(72, 720, "COUNT I - Excessive Force (42 U.S.C. § 1983)")
    y = _lines(c, _filler(20), 690)
    _lines(c, ["conspiracy theories for professing love of country. Such character attacks,"], y)
    c.setFont("Helvetica", 10)
    c.drawString(470, 60, "Page 3 of 20")
    c.setFont("Times-Roman", 28)
    c.drawString(530, 30, "dTb")
    c.showPage()
    _lines(c, ["introduced without the safeguard of cross-examination, violate the right."], 720)
    _body(c, 6, 690, OTHER)
    c.setFont("Times-Roman", 28)
    c.drawString(80, 120, "8 ~: .Dedlon '7a/e£,X'/i;X, 8-/£.,?.")
    c.showPage()
    c.save()


def test_initials_read_by_ocr_are_no_heading_and_the_sentence_reads_across_them(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "certification.pdf"
    _scanned_certification(pdf)
    result = extract(pdf, ocr="off", chunking=("header",))
    assert _headings(result) == ["COUNT I - Excessive Force (42 U.S.C. § 1983)"]
    md = result["markdown"]
    # the sentence the page break cut reads whole, over the footer and the initials
    assert "Such character attacks, introduced without the safeguard of cross-examination" in md
    # nothing is dropped: the initials stay, as text, after the joined paragraph
    assert "\n\ndTb\n\n<!-- page 2 -->" in md
    assert "8 ~: .Dedlon" in md
    footer = result["pages"][0]["furniture"]
    assert [(b["kind"], b["text"]) for b in footer] == [("page_number", "Page 3 of 20")]
    # the outline (the header chunks' heading paths) holds the real heading only
    paths = {tuple(c["headings"]) for c in result["chunks"]}
    assert paths <= {(), ("COUNT I - Excessive Force (42 U.S.C. § 1983)",)}


@pytest.mark.parametrize(
    "text",
    [
        "V. PRAYER FOR RELIEF",
        "STATE OF NEW JERSEY",
        "MEMORANDUM OF LAW",
        "POINT II-STATUTORY ELEMENTS OF 2C:12-1(b)(7) ARE NOT MET",
        "3.2.1 Scaled Dot-Product Attention",
        "Acknowledgements",
        "A",
        "Hon. ___________ _, J.S.C.",
        "Illia Polosukhin<sup>\u2217</sup> illia.polosukhin@gmail.com",
    ],
)
def test_headings_that_read_as_words_are_not_garbled(text: str) -> None:
    assert not garbled(text)


@pytest.mark.parametrize(
    "text", ["dTb", "Jib", "Jl-b", "d1b", "7b}er, a.ere..", "Date: 0 t /af,/<J..r,lS, ,"]
)
def test_an_ocr_layers_scrawl_is_garbled(text: str) -> None:
    assert garbled(text)


def test_a_word_the_page_uses_vouches_for_a_short_heading() -> None:
    assert garbled("Law")  # three letters, alone: nothing says it is a word
    assert not garbled("Law", lambda: {"law", "court"})


def _cover(path: Path) -> None:
    """A brief's cover as CA9's is set: the parties centred with their roles right of
    the centre line in italics, "v." between them, over a two-column counsel block;
    page 2 ends with the counsel's centred note and page 3 opens the motion."""
    c = canvas.Canvas(str(path), pagesize=(612, 792))

    def centred(y: float, text: str, font: str = "Times-Roman") -> None:
        c.setFont(font, 12)
        c.drawCentredString(306, y, text)

    def role(y: float, text: str) -> None:
        c.setFont("Times-Italic", 12)
        c.drawString(316, y, text)

    centred(700, "ANGEL ZEPEDA RIVAS, et al.")
    role(681, "Plaintiffs-Appellees,")
    centred(662, "v.")
    centred(643, "DAVID JENNINGS, et al.")
    role(624, "Defendants-Appellants.")
    centred(605, "On Appeal from the United States District Court")
    centred(591, "For the Northern District of California")
    centred(577, "No. 3:20-cv-02731")
    c.setFont("Times-Roman", 12)
    left = ["SEAN RIORDAN", "sriordan@aclunc.org", "AMERICAN CIVIL LIBERTIES", "39 Drumm Street"]
    right = ["GENNA ELLIS BEIER", "genna.beier@sfgov.org", "OFFICE OF THE PUBLIC", "555 Seventh St"]
    for i, (a, b) in enumerate(zip(left, right, strict=True)):
        c.drawString(72, 500 - 14 * i, a)
        c.drawString(311, 500 - 14 * i, b)
    c.showPage()
    c.setFont("Times-Roman", 12)
    for i, text in enumerate(["JORDAN WELLS", "jwells@aclusocal.org", "Los Angeles, CA 90017"]):
        c.drawString(72, 700 - 14 * i, text)
    centred(400, "Counsel for Plaintiffs-Appellees", "Times-Italic")
    centred(386, "*Admission before this Court currently pending")
    c.showPage()
    _justified(c, 108, 700, "Appellees respectfully request that the Court stay further", 540)
    _body(c, 8, 676)
    c.showPage()
    c.save()


def test_a_caption_reads_party_role_versus_party_role(tmp_path: Path) -> None:
    pdf = tmp_path / "cover.pdf"
    _cover(pdf)
    paragraphs = _paragraphs(extract(pdf, ocr="off"))
    assert paragraphs[:4] == [
        "ANGEL ZEPEDA RIVAS, et al. Plaintiffs-Appellees,",
        "v.",
        "DAVID JENNINGS, et al. Defendants-Appellants.",
        "On Appeal from the United States District Court For the Northern District of "
        "California No. 3:20-cv-02731",
    ]


def test_a_centred_block_ending_a_page_is_not_continued_by_the_next_pages_text(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "cover.pdf"
    _cover(pdf)
    paragraphs = _paragraphs(extract(pdf, ocr="off"))
    note = "Counsel for Plaintiffs-Appellees *Admission before this Court currently pending"
    assert note in paragraphs
    assert any(p.startswith("Appellees respectfully request that the Court") for p in paragraphs)


def test_a_sentence_run_on_to_the_next_page_still_joins_on_a_capital(tmp_path: Path) -> None:
    pdf = tmp_path / "compact.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    y = _body(c, 20, 700)
    _justified(c, 72, y, "The dispute over the water began long before the signing of the Red", 540)
    c.showPage()
    _body(c, 4, 700, "River Compact, which the four States negotiated over many years of talks.")
    c.showPage()
    c.save()
    assert "the signing of the Red River Compact" in extract(pdf, ocr="off")["markdown"]


def test_a_docket_line_stands_apart_from_the_hanging_indented_paragraph_under_it(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "syllabus.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    # set as the Supreme Court's syllabus is: the docket line centred, spaced out
    # nearly as wide as the text, the first paragraph's first line out at the margin,
    # the next paragraph's indented
    c.setFont("Times-Roman", 9)
    c.drawString(180, 705, "No. 11-889.")
    c.drawRightString(433, 705, "Argued April 23, 2013—Decided June 13, 2013")
    _justified(c, 156, 689, "The Red River Compact (or Compact) is a sanctioned", 456, 9)
    _justified(c, 165, 678, "agreement that allocates water rights within the Red River", 456, 9)
    c.drawString(165, 667, "basin among the States of Oklahoma and Texas.")
    _justified(c, 165, 656, "Petitioner Tarrant Regional Water District is a Texas state", 456, 9)
    c.drawString(156, 645, "agency responsible for providing water to north-central Texas.")
    c.save()
    assert _paragraphs(extract(pdf, ocr="off"))[:2] == [
        "No. 11-889. Argued April 23, 2013—Decided June 13, 2013",
        "The Red River Compact (or Compact) is a sanctioned agreement that allocates water "
        "rights within the Red River basin among the States of Oklahoma and Texas.",
    ]


def test_a_bold_run_the_sentence_carries_on_into_is_no_heading(tmp_path: Path) -> None:
    pdf = tmp_path / "bold.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    y = _lines(c, _filler(4), 700)
    y = _lines(
        c, ["aggravated assault. It records that Defendant immediately complied with the"], y
    )
    _lines(c, ["orders to drop the crowbar, confirming no attempt. The"], y, "Times-Bold")
    c.showPage()
    _lines(c, ["complainant's injury does not meet the statutory threshold of the offense."], 700)
    c.showPage()
    c.save()
    result = extract(pdf, ocr="off")
    assert _headings(result) == []
    assert (
        "complied with the orders to drop the crowbar, confirming no attempt. The "
        "complainant's injury" in result["markdown"]
    )


def _run(c: canvas.Canvas, x: float, y: float, text: str, size: float) -> float:
    c.setFont("Times-Roman", size)
    c.drawString(x, y, text)
    return x + stringWidth(text, "Times-Roman", size)


def test_a_display_equations_number_comes_after_its_fractions_lower_row(tmp_path: Path) -> None:
    pdf = tmp_path / "equation.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    _lines(c, ["We compute the matrix of outputs as:"], 720)
    _run(c, 220, 690, "Attention(Q, K, V) = softmax(QK / )V", 10)
    _run(c, 493, 688, "(1)", 10)
    _run(c, 330, 682, "√dk", 10)  # the fraction's lower row, under the upper one
    # a stacked pair of scripts on "d": "model" under, "-0.5" over
    x = _run(c, 163, 640, "lrate = d", 10)
    _run(c, x, 637, "model", 7)
    _run(c, x, 645, "-0.5", 7)
    _run(c, x + 20, 640, "· min(step, warmup)", 10)
    _run(c, 493, 640, "(3)", 10)
    _lines(c, ["The two most commonly used attention functions are additive attention."], 600)
    c.save()
    md = extract(pdf, ocr="off")["markdown"]
    assert "Attention(Q, K, V) = softmax(QK / )V √dk (1)" in md
    assert "lrate = d<sub>model</sub><sup>-0.5</sup> · min(step, warmup) (3)" in md
