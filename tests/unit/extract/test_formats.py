"""Images, DOCX, PPTX, XLSX and HTML come back in the same result shape as PDFs."""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_helpers import extract, needs_tesseract

from pagewire.extract import SUPPORTED_MEDIA_TYPES, sniff_media_type
from pagewire.extract.formats import DOCX, PPTX, XLSX


@pytest.fixture
def docx_file(tmp_path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Quarterly Filing Summary", level=1)
    d.add_paragraph("The court received the amended complaint on time.")
    d.add_heading("Parties", level=2)
    d.add_paragraph("Plaintiff of Atlantic County", style="List Bullet")
    d.add_paragraph("Defendant of Galloway", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Court", "Pages"
    table.cell(1, 0).text, table.cell(1, 1).text = "D.N.J.", "59"
    path = tmp_path / "summary.docx"
    d.save(str(path))
    return path


@pytest.fixture
def pptx_file(tmp_path: Path) -> Path:
    import pptx

    prs = pptx.Presentation()
    for title, bullets in (("Roadmap", ["Ship OCR", "Ship chunking"]), ("Results", ["Faster"])):
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        body.text = bullets[0]
        for b in bullets[1:]:
            body.add_paragraph().text = b
    path = tmp_path / "deck.pptx"
    prs.save(str(path))
    return path


@pytest.fixture
def xlsx_file(tmp_path: Path) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Filings"
    sheet.append(["Court", "Count"])
    sheet.append(["First Circuit", 1204])
    book.create_sheet("Empty")
    path = tmp_path / "filings.xlsx"
    book.save(str(path))
    return path


def test_docx_headings_lists_and_tables(docx_file: Path) -> None:
    result = extract(docx_file, DOCX)
    md = result["markdown"]
    assert "# Quarterly Filing Summary" in md
    assert "## Parties" in md
    assert "- Plaintiff of Atlantic County\n- Defendant of Galloway" in md
    assert result["pages"][0]["tables"][0]["rows"] == (("Court", "Pages"), ("D.N.J.", "59"))


def test_pptx_one_page_per_slide_with_titles_and_bullets(pptx_file: Path) -> None:
    result = extract(pptx_file, PPTX)
    assert result["page_count"] == 2
    first = result["pages"][0]
    assert first["markdown"].startswith("# Roadmap")
    assert "- Ship OCR\n- Ship chunking" in first["markdown"]
    assert first["blocks"][0]["bbox"] is not None


def test_xlsx_one_page_per_sheet_as_a_table(xlsx_file: Path) -> None:
    result = extract(xlsx_file, XLSX)
    assert result["page_count"] == 2
    assert result["pages"][0]["tables"][0]["rows"] == (
        ("Court", "Count"),
        ("First Circuit", "1204"),
    )
    assert "| First Circuit | 1204 |" in result["markdown"]


def test_html_structure_without_scripts_or_navigation(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<!doctype html><html><head><title>t</title><script>var x=1</script></head><body>"
        "<nav>Home | About</nav><h1>Opinion</h1><p>The judgment is <b>affirmed</b>.</p>"
        "<ol><li>First point</li><li>Second point</li></ol>"
        "<table><tr><th>Judge</th><th>Vote</th></tr><tr><td>Kagan</td><td>Join</td></tr></table>"
        "</body></html>"
    )
    result = extract(path, "text/html")
    md = result["markdown"]
    assert "# Opinion" in md
    assert "The judgment is affirmed." in md  # inline tags add no spaces
    assert "1. First point\n1. Second point" in md
    assert "| Kagan | Join |" in md
    assert "var x" not in md and "Home" not in md


def test_sniffing_recognises_every_supported_format(
    docx_file: Path, pptx_file: Path, xlsx_file: Path, truth_pdf: Path, tmp_path: Path
) -> None:
    from PIL import Image

    found = {}
    for name, fmt in (("a.png", "PNG"), ("a.jpg", "JPEG"), ("a.tif", "TIFF")):
        Image.new("L", (8, 8), 255).save(tmp_path / name, fmt)
        found[name] = sniff_media_type((tmp_path / name).read_bytes()[:4096])
    for path in (docx_file, pptx_file, xlsx_file, truth_pdf):
        found[path.name] = sniff_media_type(path.read_bytes()[:4096])
    found["html"] = sniff_media_type(b"\xef\xbb\xbf  <!DOCTYPE html><html>")
    assert found == {
        "a.png": "image/png",
        "a.jpg": "image/jpeg",
        "a.tif": "image/tiff",
        "summary.docx": DOCX,
        "deck.pptx": PPTX,
        "filings.xlsx": XLSX,
        "ground-truth.pdf": "application/pdf",
        "html": "text/html",
    }
    assert set(found.values()) == set(SUPPORTED_MEDIA_TYPES)


def test_sniffing_refuses_what_it_cannot_prove() -> None:
    assert sniff_media_type(b"PK\x03\x04 some other zip") is None
    assert sniff_media_type(b"GIF89a") is None
    assert sniff_media_type(b"just text") is None


def _text_image(path: Path, lines: list[str]) -> None:
    import pypdfium2 as pdfium
    from reportlab.pdfgen.canvas import Canvas

    pdf_path = path.with_suffix(".src.pdf")
    c = Canvas(str(pdf_path), pagesize=(400, 120))
    c.setFont("Helvetica", 16)
    for i, line in enumerate(lines):
        c.drawString(10, 90 - 30 * i, line)
    c.save()
    pdf = pdfium.PdfDocument(str(pdf_path))
    pdf[0].render(scale=200 / 72).to_pil().save(path, dpi=(200, 200))
    pdf.close()


@needs_tesseract
def test_png_is_read_by_ocr(tmp_path: Path) -> None:
    path = tmp_path / "note.png"
    _text_image(path, ["Motion to dismiss granted", "without prejudice"])
    result = extract(path, "image/png")
    page = result["pages"][0]
    assert page["ocr"] is True
    assert "Motion to dismiss granted without prejudice" in page["markdown"]


def test_image_without_tesseract_warns_instead_of_returning_silence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pagewire.extract import ocr

    path = tmp_path / "note.png"
    from PIL import Image

    Image.new("L", (200, 100), 255).save(path)
    monkeypatch.setattr(ocr, "tesseract_available", lambda: False)
    result = extract(path, "image/png")
    assert result["pages"][0]["markdown"] == ""
    assert any("ocr_unavailable" in w for w in result["warnings"])
