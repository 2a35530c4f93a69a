"""Every supported format through real HTTP: ``POST /extract``, then ``GET /job/{id}``.

Unit tests open files named ``*.xlsx``; uploads are stored without a name, which is
how XLSX once failed every time through the API (openpyxl refused the extension-less
path). Each document here is uploaded the way a client does, with its name and media
type, and its own words must come back in the result.
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest

from .test_serve import new_key, wait_all

pytestmark = pytest.mark.e2e

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _text_pdf(words: str) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    out = io.BytesIO()
    c = Canvas(out, pagesize=(612, 792))
    c.setFont("Helvetica", 24)
    c.drawString(72, 700, words)
    c.showPage()
    c.save()
    return out.getvalue()


def _scan(words: str) -> Any:
    """The words as a scanner would give them: a 200 dpi greyscale picture of a page."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(_text_pdf(words))
    try:
        return pdf[0].render(scale=200 / 72, grayscale=True).to_pil()
    finally:
        pdf.close()


def _image(words: str, fmt: str, **save: Any) -> bytes:
    out = io.BytesIO()
    _scan(words).save(out, fmt, **save)
    return out.getvalue()


def _docx(words: str) -> bytes:
    import docx

    d = docx.Document()
    d.add_heading("Docket summary", level=1)
    d.add_paragraph(words)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _pptx(words: str) -> bytes:
    import pptx

    prs = pptx.Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[1])
    slide.shapes.title.text = "Hearing schedule"
    slide.placeholders[1].text_frame.text = words
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _xlsx(words: str) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Filings"
    sheet.append(["Court", "Note"])
    sheet.append(["First Circuit", words])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _html(words: str) -> bytes:
    return f"<!doctype html><html><body><h1>Opinion</h1><p>{words}</p></body></html>".encode()


# name, media type, the words, the document; OCR'd words are plain and large
DOCUMENTS = [
    ("brief.pdf", PDF, "Appellant filed a timely brief", _text_pdf),
    ("scanned.pdf", PDF, "Scanned motion granted today", lambda w: _image(w, "PDF")),
    ("summary.docx", DOCX, "Plaintiffs seek declaratory relief", _docx),
    ("deck.pptx", PPTX, "Oral argument in March", _pptx),
    ("filings.xlsx", XLSX, "Remanded for further proceedings", _xlsx),
    ("page.html", "text/html", "The judgment is affirmed", _html),
    ("page.png", "image/png", "Exhibit shows the contract", lambda w: _image(w, "PNG")),
    ("page.jpg", "image/jpeg", "Witness signed the affidavit", lambda w: _image(w, "JPEG")),
    ("page.tif", "image/tiff", "Clerk entered the judgment", lambda w: _image(w, "TIFF")),
]


def test_every_supported_format_is_extracted_through_the_api(service_factory: Any) -> None:
    from pagewire.extract.ocr import tesseract_available

    if not tesseract_available():
        pytest.skip("tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng)")
    service = service_factory()
    headers = new_key(service)
    service.serve()
    with httpx.Client(base_url=service.base_url, headers=headers, timeout=30) as client:
        job_ids = {}
        for name, media_type, words, make in DOCUMENTS:
            response = client.post(
                "/extract",
                files={"file": (name, make(words), media_type)},
                data={"async": "true"},
            )
            assert response.status_code == 202, (name, response.text)
            job_ids[name] = response.json()["job_id"]
        jobs = wait_all(client, list(job_ids.values()), {"completed", "failed"}, 180)
    by_id = {job["job_id"]: job for job in jobs}
    for name, _, words, _ in DOCUMENTS:
        job = by_id[job_ids[name]]
        assert job["status"] == "completed", (name, job.get("error"))
        # OCR may read a capital as a small letter at this size; the words must be there
        assert words.lower() in job["result"]["markdown"].lower(), (name, job["result"])
