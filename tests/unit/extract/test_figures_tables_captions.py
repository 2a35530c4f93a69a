"""Figures, multi-row table headers and filing captions on generated PDFs (issue 15,
items 2, 4, 5); the corpus pages they come from are in tests/fidelity/expectations.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extract_helpers import extract
from PIL import Image
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen import canvas

BODY = (
    "The model reads the whole sequence at once and the figure below shows how the "
    "attention of one head spreads over the words of a sentence."
)


def _blocks(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for p in result["pages"] for b in p["blocks"]]


def _paper_with_figures(path: Path, tmp: Path) -> None:
    c = canvas.Canvas(str(path), pagesize=letter)
    c.setFont("Helvetica-Bold", 14)
    c.drawString(72, 720, "1 Introduction")
    c.setFont("Helvetica", 10)
    c.drawString(72, 700, BODY[:90])
    c.drawString(72, 688, BODY[90:])
    # A vector figure included as a form XObject (as LaTeX includes a PDF figure),
    # with big labels of its own.
    c.beginForm("diagram")
    c.rect(100, 450, 400, 200)
    c.setFont("Helvetica-Bold", 18)
    c.drawString(110, 620, "Input-Input Layer5")
    c.setFont("Helvetica", 8)
    for i, word in enumerate(["encoder", "decoder", "softmax", "output"]):
        c.drawString(120 + 90 * i, 520, word)
    c.endForm()
    c.doForm("diagram")
    c.setFont("Helvetica", 10)
    c.drawString(72, 430, "Figure 1: Attention of one head over the sentence.")
    # A picture with a label set over it, captioned above.
    c.drawString(72, 380, "Figure 2: A photograph of the encoder.")
    picture = tmp / "picture.png"
    Image.new("RGB", (200, 100), (200, 220, 240)).save(picture)
    c.drawImage(str(picture), 100, 200, 400, 170)
    c.setFont("Helvetica-Bold", 16)
    c.drawString(150, 280, "ENCODER STACK")
    c.setFont("Helvetica", 10)
    c.drawString(72, 150, "The results follow in the next section of this paper.")
    c.save()


def test_a_figures_text_is_its_alt_not_headings_or_paragraphs(tmp_path: Path) -> None:
    pdf = tmp_path / "paper.pdf"
    _paper_with_figures(pdf, tmp_path)
    result = extract(pdf, return_html=True)
    blocks = _blocks(result)
    figures = [b for b in blocks if b["kind"] == "figure"]
    assert [f["text"] for f in figures] == [
        "Figure 1: Attention of one head over the sentence.",
        "Figure 2: A photograph of the encoder.",
    ]
    assert figures[0]["alt"] == "Input-Input Layer5 encoder decoder softmax output"
    assert figures[1]["alt"] == "ENCODER STACK"
    body = [b["text"] for b in blocks if b["kind"] != "figure"]
    assert not any("Input-Input" in t or "ENCODER STACK" in t for t in body)
    headings = [b["text"] for b in blocks if b["kind"] == "heading"]
    assert headings == ["1 Introduction"]
    md = result["markdown"]
    assert "*Figure 1: Attention of one head over the sentence.*\n<!-- figure text: " in md
    assert md.index("Figure 1:") < md.index("Figure 2:") < md.index("The results follow")
    assert (
        '<figure aria-label="ENCODER STACK"><figcaption>Figure 2: A photograph of the '
        "encoder.</figcaption></figure>" in result["html"]
    )


def test_a_figure_at_the_top_of_a_page_does_not_stop_a_paragraph(tmp_path: Path) -> None:
    pdf = tmp_path / "two-pages.pdf"
    c = canvas.Canvas(str(pdf), pagesize=letter)
    c.setFont("Helvetica", 10)
    c.drawString(72, 100, "The encoder maps an input sequence of symbol representations to a")
    c.showPage()
    c.beginForm("chart")
    c.rect(100, 500, 400, 200)
    c.setFont("Helvetica-Bold", 20)
    c.drawString(120, 650, "Layer 5")
    c.endForm()
    c.doForm("chart")
    c.setFont("Helvetica", 10)
    c.drawString(72, 480, "Figure 3: A chart.")
    c.drawString(72, 440, "sequence of continuous representations, one symbol at a time.")
    c.save()
    md = extract(pdf)["markdown"]
    assert "symbol representations to a sequence of continuous representations" in md
    assert "# Layer 5" not in md


def test_a_two_row_header_becomes_one_and_group_labels_stay_with_their_rows(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "table.pdf"
    c = canvas.Canvas(str(pdf), pagesize=letter)
    c.setFont("Times-Roman", 9)
    cols = [(100, "l"), (260, "c"), (320, "c"), (400, "c"), (460, "c")]

    def row(y: float, cells: list[str]) -> None:
        for (x, _), text in zip(cols, cells, strict=True):
            if text:
                c.drawCentredString(x, y, text) if x > 100 else c.drawString(x, y, text)

    c.drawCentredString(290, 700, "BLEU")  # centred over EN-DE and EN-FR
    c.drawCentredString(430, 700, "Training Cost")
    row(688, ["Model", "", "", "", ""])
    row(676, ["", "EN-DE", "EN-FR", "EN-DE", "EN-FR"])
    row(662, ["ByteNet", "23.75", "", "", ""])
    row(650, ["", "24.6", "39.92", "2.3", "1.4"])
    row(638, ["(A)", "", "", "", ""])  # a group label centred beside its two rows
    row(626, ["", "25.16", "40.46", "9.6", "1.5"])
    row(614, ["Big", "28.4", "41.8", "2.3", "2.3"])
    c.save()
    tables = [t for p in extract(pdf)["pages"] for t in p["tables"]]
    assert len(tables) == 1
    rows = [list(r) for r in tables[0]["rows"]]
    assert rows[0] == [
        "Model",
        "BLEU EN-DE",
        "BLEU EN-FR",
        "Training Cost EN-DE",
        "Training Cost EN-FR",
    ]
    assert rows[1] == ["ByteNet", "23.75", "", "", ""]
    assert rows[2] == ["(A)", "24.6", "39.92", "2.3", "1.4"]
    assert rows[3] == ["(A)", "25.16", "40.46", "9.6", "1.5"]
    assert rows[4][0] == "Big"


def test_a_caption_divided_by_a_rule_reads_side_by_side(tmp_path: Path) -> None:
    pdf = tmp_path / "order.pdf"
    c = canvas.Canvas(str(pdf), pagesize=letter)
    c.setFont("Times-Roman", 12)
    c.drawString(108, 712, "WO")
    c.drawCentredString(306, 640, "IN THE UNITED STATES DISTRICT COURT")
    c.drawCentredString(306, 622, "FOR THE DISTRICT OF ARIZONA")
    left = ["IN RE: Bard IVC Filters Products", "Liability Litigation,"]
    right = ["No. MDL 15-02641-PHX-DGC", "", "SUGGESTION OF REMAND AND", "TRANSFER ORDER"]
    for i, text in enumerate(left):
        c.drawString(108, 560 - 14 * i, text)
    for i, text in enumerate(right):
        c.drawString(342, 560 - 14 * i, text)
    c.line(333, 575, 333, 500)  # the rule between the caption's sides
    c.line(102, 500, 333, 500)
    c.drawString(108, 470, "This multidistrict litigation proceeding involves personal injury")
    c.drawString(108, 456, "cases brought against the defendants by many plaintiffs.")
    c.save()
    result = extract(pdf)
    texts = [(b["kind"], b["text"]) for b in _blocks(result)]
    assert ("paragraph", "WO") in texts  # a docket marker, not the title
    assert texts[1] == (
        "heading",
        "IN THE UNITED STATES DISTRICT COURT FOR THE DISTRICT OF ARIZONA",
    )
    assert texts[2] == ("paragraph", "IN RE: Bard IVC Filters Products Liability Litigation,")
    assert texts[3][1] == "No. MDL 15-02641-PHX-DGC SUGGESTION OF REMAND AND TRANSFER ORDER"
