"""OCR runs where there is no text layer, and only there (unless forced)."""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_helpers import extract, needs_tesseract
from groundtruth import Truth


@needs_tesseract
def test_rendered_only_page_is_ocrd_and_text_pages_are_not(truth_pdf: Path, truth: Truth) -> None:
    result = extract(truth_pdf, pages=(3, 4))
    text_page, scan_page = result["pages"]
    assert text_page["ocr"] is False
    assert scan_page["ocr"] is True
    assert scan_page["markdown"].startswith("## 4 Scanned Appendix")  # typed, from the layer
    md = scan_page["markdown"].lower()
    assert sum(w in md for w in truth.ocr_words) >= 4


def test_ocr_off_leaves_a_scanned_page_empty_with_a_reason(truth_pdf: Path) -> None:
    result = extract(truth_pdf, pages=(4,), ocr="off")
    page = result["pages"][0]
    assert page["ocr"] is False
    assert "photocopy" not in page["markdown"]
    assert page["warnings"] == ("page has no usable text layer and OCR is off",)


def test_missing_tesseract_is_a_warning_not_silence(
    truth_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pagewire.extract import ocr

    monkeypatch.setattr(ocr, "tesseract_available", lambda: False)
    result = extract(truth_pdf, pages=(1, 4))
    assert result["pages"][0]["warnings"] == ()  # a text page needs no OCR
    assert any(w.startswith("page 4: ocr_unavailable") for w in result["warnings"])


@needs_tesseract
@pytest.mark.timeout(60)
def test_ocr_layer_is_used_unless_ocr_is_forced(corpus_dir: Path) -> None:
    path = corpus_dir / "dnj-complaint-ocr-layer-59p.pdf"
    auto = extract(path, pages=(3,))
    forced = extract(path, pages=(3,), ocr="force")
    assert auto["pages"][0]["ocr"] is False
    assert forced["pages"][0]["ocr"] is True
    assert "Defendant" in forced["pages"][0]["markdown"]


@needs_tesseract
def test_a_blank_scanned_page_is_reported_blank_without_running_tesseract(tmp_path: Path) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "blank-scan.pdf"
    c = Canvas(str(path), pagesize=(612, 792))
    c.drawImage(ImageReader(Image.new("L", (850, 1100), 255)), 0, 0, width=612, height=792)
    c.showPage()
    c.save()
    page = extract(path)["pages"][0]
    assert page["ocr"] is False
    assert page["warnings"] == ("page is blank: nothing to OCR",)
