"""Files the engine cannot read fail with the error code the API reports, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagewire.extract import SUPPORTED_MEDIA_TYPES, open_document
from pagewire.extract.base import ExtractError, ExtractOptions

PDF = "application/pdf"


def _code(path: Path, media_type: str = PDF) -> str:
    with pytest.raises(ExtractError) as err:
        open_document(path, media_type, ExtractOptions())
    return err.value.code


def test_empty_file_is_empty_file(corpus_dir: Path) -> None:
    assert _code(corpus_dir / "empty.pdf") == "empty_file"


def test_text_that_is_not_a_pdf_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("just some notes, not a PDF")
    assert _code(path) == "invalid_document"


def test_truncated_pdf_is_invalid(tmp_path: Path, truth_pdf: Path) -> None:
    path = tmp_path / "cut.pdf"
    path.write_bytes(truth_pdf.read_bytes()[:300])
    assert _code(path) == "invalid_document"


def test_password_protected_pdf_is_encrypted_document(tmp_path: Path) -> None:
    from reportlab.lib import pdfencrypt
    from reportlab.pdfgen.canvas import Canvas

    path = tmp_path / "locked.pdf"
    enc = pdfencrypt.StandardEncryption("secret", canPrint=0)
    c = Canvas(str(path), encrypt=enc)
    c.drawString(72, 720, "classified")
    c.showPage()
    c.save()
    assert _code(path) == "encrypted_document"


def test_unsupported_type_names_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "a.odt"
    path.write_bytes(b"PK\x03\x04whatever")
    with pytest.raises(ExtractError) as err:
        open_document(path, "application/vnd.oasis.opendocument.text", ExtractOptions())
    assert err.value.code == "unsupported_media_type"
    assert all(t in err.value.message for t in SUPPORTED_MEDIA_TYPES)


def test_page_past_the_end_is_page_out_of_range(truth_pdf: Path) -> None:
    doc = open_document(truth_pdf, PDF, ExtractOptions())
    try:
        with pytest.raises(ExtractError) as err:
            doc.read_page(doc.page_count + 1)
        assert err.value.code == "page_out_of_range"
    finally:
        doc.close()


def test_corrupt_docx_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    assert (
        _code(path, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        == "invalid_document"
    )


def test_broken_image_is_invalid(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert _code(path, "image/png") == "invalid_document"
