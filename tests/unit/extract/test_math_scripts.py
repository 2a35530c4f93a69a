"""Punctuation after a superscript or subscript stays on its word (Attention's
``softmax(QK<sup>T</sup>)V``), on a generated page set as LaTeX sets it."""

from __future__ import annotations

from pathlib import Path

from extract_helpers import extract
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas


def _equation_page(path: Path) -> None:
    c = canvas.Canvas(str(path), pagesize=(612, 792))

    def run(x: float, y: float, text: str, size: float) -> float:
        c.setFont("Times-Roman", size)
        c.drawString(x, y, text)
        return x + stringWidth(text, "Times-Roman", size)

    # each script its own text object, as TeX draws them, the bracket close behind it
    x = run(72, 700, "The attention is Attention(Q, K, V) = softmax(QK", 10)
    x = run(x + 0.3, 703.6, "T", 7)
    run(x + 1.0, 700, ")V over the keys, with inputs x", 10)
    x = run(72, 680, "and outputs z", 10)
    x = run(x + 0.2, 678, "i", 7)
    run(x + 0.8, 680, ", one for each position of the sequence.", 10)
    c.save()


def test_a_bracket_or_comma_after_a_script_is_not_spaced_off(tmp_path: Path) -> None:
    pdf = tmp_path / "equation.pdf"
    _equation_page(pdf)
    md = extract(pdf, ocr="off")["markdown"]
    assert "Attention(Q, K, V) = softmax(QK<sup>T</sup>)V over the keys" in md
    assert "outputs z<sub>i</sub>, one for each position" in md
