"""Paragraphs that cross a page break around what is set apart from the running text:
the page's footnotes, a table and its caption atop the next page, a running head's
third row, the titles printed over a figure (issue 15; the corpus pages are in
tests/fidelity/expectations.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extract_helpers import extract
from reportlab.pdfgen import canvas

FILLER = (
    "The parties dispute the meaning of the agreement they signed in the spring, and "
    "each reads its terms in the light most favourable to its own position at trial."
)


def _lines(c: canvas.Canvas, lines: list[str], y: float, size: float, lead: float) -> float:
    c.setFont("Times-Roman", size)
    for line in lines:
        c.drawString(72, y, line)
        y -= lead
    return y


def _filler(count: int) -> list[str]:
    half = len(FILLER) // 2
    cut = FILLER.rindex(" ", 0, half)
    return [FILLER[:cut], FILLER[cut + 1 :]] * (count // 2)


def _blocks(result: dict[str, Any], page: int) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = result["pages"][page - 1]["blocks"]
    return blocks


def _opinion_with_a_footnote(path: Path) -> None:
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    y = _lines(c, _filler(16), 700, 11, 14)
    _lines(c, ["Having heard both sides at length, the court found that the"], y, 11, 14)
    c.line(72, 140, 216, 140)  # the rule over the notes, drawn as LaTeX and Word do
    c.setFont("Times-Roman", 6)
    c.drawString(72, 126, "1")
    c.setFont("Times-Roman", 9)
    c.drawString(76, 122, "The record was sealed by agreement of the parties before the hearing,")
    c.drawString(72, 111, "and it stays sealed on appeal.")
    c.showPage()
    y = _lines(c, ["agreement was binding on both parties when it was signed."], 700, 11, 14)
    _lines(c, _filler(10), y - 6, 11, 14)
    c.showPage()
    c.save()


def test_a_paragraph_reads_whole_across_the_footnotes_under_it(tmp_path: Path) -> None:
    pdf = tmp_path / "opinion.pdf"
    _opinion_with_a_footnote(pdf)
    result = extract(pdf, ocr="off", return_html=True, chunking=("recursive",), chunk_size=400)
    md = result["markdown"]
    assert "the court found that the agreement was binding on both parties" in md
    note = _blocks(result, 1)[-1]
    assert note["kind"] == "footnote"
    assert note["text"] == (
        "<sup>1</sup>The record was sealed by agreement of the parties before the hearing, "
        "and it stays sealed on appeal."
    )
    # the note is printed where it stands: after the paragraph, on its own page
    assert md.index("binding on both parties") < md.index("The record was sealed")
    assert md.index("The record was sealed") < md.index("<!-- page 2 -->")
    assert (
        '<aside class="footnote"><sup>1</sup>The record was sealed by agreement' in result["html"]
    )
    assert any("it stays sealed on appeal." in c["text"] for c in result["chunks"])


def _paper_with_a_table_atop_page_two(path: Path) -> None:
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    y = _lines(c, _filler(20), 700, 11, 14)
    _lines(c, ["We measured the change in performance on the translation task on the"], y, 11, 14)
    c.showPage()
    c.setFont("Times-Roman", 10)
    c.drawString(72, 720, "Table 3: Variations on the base model, measured on the development set.")
    rows = [("Model", "Layers", "BLEU", "Steps"), ("base", "6", "25.8", "100K")]
    rows += [("big", "6", "26.4", "300K"), ("deep", "8", "25.5", "100K")]
    for r, row in enumerate(rows):
        for k, cell in enumerate(row):
            c.drawString(90 + 110 * k, 690 - 16 * r, cell)
    y = _lines(c, ["development set, newstest2013, with beam search as before."], 600, 11, 14)
    _lines(c, _filler(8), y - 6, 11, 14)
    c.showPage()
    c.save()


def test_a_paragraph_reads_whole_across_a_table_and_caption_atop_the_next_page(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "paper.pdf"
    _paper_with_a_table_atop_page_two(pdf)
    result = extract(pdf, ocr="off")
    md = result["markdown"]
    assert "on the translation task on the development set, newstest2013, with beam" in md
    # the float stays on its page, before the rest of it
    assert [b["kind"] for b in _blocks(result, 2)][:3] == ["caption", "table", "paragraph"]
    assert md.index("<!-- page 2 -->") < md.index("Table 3:") < md.index("| big | 6 |")


HEAD = ("SMITH V. JONES COUNTY BOARD OF ELECTIONS", "2024-NCSC-7", "Opinion of the Court")


def _opinion_with_a_three_row_head(path: Path, page_lines: list[list[str]]) -> None:
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    for n, lines in enumerate(page_lines, 1):
        if n > 1:  # page 1 has the court's caption instead
            c.setFont("Times-Roman", 10)
            for i, row in enumerate(HEAD):
                c.drawCentredString(306, 760 - 13 * i, row.replace("7", str(n)))
        _lines(c, lines, 690, 12, 28)  # double-spaced
        c.showPage()
    c.save()


def test_a_running_heads_third_row_is_furniture_not_the_next_sentence(tmp_path: Path) -> None:
    pdf = tmp_path / "opinion.pdf"
    pages = [_filler(20) for _ in range(5)]
    pages[2][-1] = "held that the games do not amount to games whose outcomes are determined"
    pages[3][0] = "by skill and dexterity, but rather by chance, as the trial court found."
    _opinion_with_a_three_row_head(pdf, pages)
    result = extract(pdf, ocr="off")
    md = result["markdown"]
    assert "Opinion of the Court" not in md
    assert "whose outcomes are determined by skill and dexterity, but rather by chance" in md
    for page in result["pages"][1:]:
        assert [f["text"] for f in page["furniture"]][:3] == [
            HEAD[0],
            HEAD[1].replace("7", str(page["number"])),
            HEAD[2],
        ]


def test_a_body_sentence_opening_every_page_under_the_head_stays_body_text(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "report.pdf"
    opening = "Part {} covers the filings."  # as short as a running head's label
    pages = [[opening.format(n), *_filler(18)] for n in range(1, 6)]
    _opinion_with_a_three_row_head(pdf, pages)
    md = extract(pdf, ocr="off")["markdown"]
    for n in range(1, 6):
        assert opening.format(n) in md


def _paper_with_titled_drawings(path: Path) -> None:
    c = canvas.Canvas(str(path), pagesize=(612, 792))
    y = _lines(c, _filler(6), 740, 10, 12)
    _lines(c, ["The output is computed as a weighted sum"], y, 10, 12)
    c.showPage()
    c.setFont("Times-Roman", 10)
    c.drawCentredString(306, 702, "Scaled Attention Multi-Head Attention")  # just over the box
    c.beginForm("drawing")
    c.rect(150, 520, 312, 180)
    c.setFont("Helvetica", 8)
    c.drawString(170, 600, "MatMul SoftMax Scale")
    c.endForm()
    c.doForm("drawing")
    c.drawString(72, 500, "Figure 2: (left) Scaled Attention. (right) Multi-Head Attention.")
    y = _lines(
        c, ["of the values, where the weight of each value comes from its key."], 470, 10, 12
    )
    y = _lines(c, _filler(4), y - 6, 10, 12)
    # a real paragraph above a second figure keeps its place
    _lines(c, ["A second drawing shows the decoder"], 300, 10, 12)
    c.beginForm("second")
    c.rect(150, 120, 312, 160)
    c.setFont("Helvetica", 8)
    c.drawString(170, 200, "Decoder Stack")
    c.endForm()
    c.doForm("second")
    c.setFont("Times-Roman", 10)
    c.drawString(72, 100, "Figure 3: The decoder.")
    c.showPage()
    c.save()


def test_titles_printed_over_a_figure_are_its_labels_not_the_next_sentence(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "paper.pdf"
    _paper_with_titled_drawings(pdf)
    result = extract(pdf, ocr="off")
    md = result["markdown"]
    assert "computed as a weighted sum of the values, where the weight" in md
    figures = [b for b in _blocks(result, 2) if b["kind"] == "figure"]
    assert figures[0]["alt"] == "Scaled Attention Multi-Head Attention MatMul SoftMax Scale"
    assert figures[1]["alt"] == "Decoder Stack"
    paragraphs = [b["text"] for b in _blocks(result, 2) if b["kind"] == "paragraph"]
    assert "A second drawing shows the decoder" in paragraphs
