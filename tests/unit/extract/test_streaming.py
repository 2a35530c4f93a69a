"""Pages stream: memory stays flat over a long document and one bad page is only a warning."""

from __future__ import annotations

from pathlib import Path

import groundtruth
import pytest
from extract_helpers import extract

from pagewire.extract import open_document
from pagewire.extract.base import ExtractOptions


@pytest.fixture(scope="module")
def long_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("long") / "report-300p.pdf"
    groundtruth.build_long(path, 300)
    return path


def test_memory_stays_flat_while_reading_a_long_document(long_pdf: Path) -> None:
    import psutil

    proc = psutil.Process()
    doc = open_document(long_pdf, "application/pdf", ExtractOptions())
    try:
        for n in range(1, 51):
            doc.read_page(n)
        warm = proc.memory_info().rss
        for n in range(51, doc.page_count + 1):
            page = doc.read_page(n)
            assert page.tables  # every page of the report has its table
        grown = proc.memory_info().rss - warm
    finally:
        doc.close()
    assert grown < 15 * 1024 * 1024, f"RSS grew by {grown / 1e6:.1f} MB over 250 pages"


def test_a_page_that_fails_becomes_a_warning_and_the_rest_is_extracted(
    truth_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pagewire.extract.pdf import PdfDocument

    real = PdfDocument._source

    def flaky(self, number, opened=None):  # type: ignore[no-untyped-def]
        if number == 2:
            raise RuntimeError("pdfium choked on this page")
        return real(self, number, opened)

    monkeypatch.setattr(PdfDocument, "_source", flaky)
    result = extract(truth_pdf, pages=(1, 2, 3))
    assert [p["number"] for p in result["pages"]] == [1, 2, 3]
    assert result["warnings"] == ["page 2: page could not be read: pdfium choked on this page"]
    assert "Extraction Quality Report" in result["pages"][0]["markdown"]
    assert "| Ours | 96.3 | 180 | 88.4 |" in result["pages"][2]["markdown"]
