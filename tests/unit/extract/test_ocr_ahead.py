"""A long scan's pages are OCR'd several at once and still come out in page order."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from extract_helpers import extract, needs_tesseract

from pagewire.extract.ocr_ahead import OcrAhead


def test_two_lanes_run_two_pages_at_once() -> None:
    # Page 1's work cannot finish until page 2's has started: only a second lane,
    # started ahead while page 1 is read, lets it through.
    page_two_started = threading.Event()

    def plan(number: int):  # type: ignore[no-untyped-def]
        def work() -> str:
            if number == 1:
                assert page_two_started.wait(timeout=30), "page 2 was not started ahead"
            if number == 2:
                page_two_started.set()
            return f"page {number}"

        return work

    ahead: OcrAhead[str] = OcrAhead(2, iter([1, 2, 3]), plan)
    try:
        read = []
        for number in (1, 2, 3):
            ahead.look_ahead(number)
            read.append(ahead.take(number))
        assert read == ["page 1", "page 2", "page 3"]
    finally:
        ahead.close()


def test_one_lane_starts_nothing_ahead() -> None:
    planned: list[int] = []

    def plan(number: int):  # type: ignore[no-untyped-def]
        planned.append(number)
        return lambda: number

    ahead: OcrAhead[int] = OcrAhead(1, iter([1, 2, 3]), plan)
    ahead.look_ahead(1)
    assert planned == [] and not ahead.started(1)
    ahead.close()


def test_pages_that_need_no_ocr_take_no_lane_and_errors_reach_their_page() -> None:
    def plan(number: int):  # type: ignore[no-untyped-def]
        if number == 2:
            return None  # a page with a text layer

        def work() -> int:
            if number == 3:
                raise RuntimeError("tesseract failed on page 3")
            return number

        return work

    ahead: OcrAhead[int] = OcrAhead(3, iter([1, 2, 3]), plan)
    try:
        ahead.look_ahead(1)
        assert ahead.started(1) and not ahead.started(2) and ahead.started(3)
        assert ahead.take(1) == 1
        ahead.forget(2)
        with pytest.raises(RuntimeError, match="page 3"):
            ahead.take(3)
    finally:
        ahead.close()


@needs_tesseract
@pytest.mark.timeout(120)
def test_a_scan_reads_the_same_on_one_lane_and_on_three(tmp_path: Path, corpus_dir: Path) -> None:
    import pypdfium2 as pdfium

    # Four scanned pages (text pages of a real filing, rendered to pixels), one blank.
    source = pdfium.PdfDocument(str(corpus_dir / "ca1-appeal-17p.pdf"))
    images = [source[i].render(scale=150 / 72, grayscale=True).to_pil() for i in range(3)]
    images.insert(2, images[0].point(lambda _: 255))
    scan = tmp_path / "scan.pdf"
    images[0].save(scan, "PDF", resolution=150, save_all=True, append_images=images[1:])

    one = extract(scan, ocr_lanes=1)
    three = extract(scan, ocr_lanes=3)
    assert one == three
    assert [p["ocr"] for p in three["pages"]] == [True, True, False, True]
    assert three["pages"][2]["warnings"] == ("page is blank: nothing to OCR",)
    assert "Appeals" in three["markdown"] or "APPEALS" in three["markdown"]


def test_a_pdf_says_what_share_of_it_is_scanned(tmp_path: Path, corpus_dir: Path) -> None:
    from pagewire.extract import open_document
    from pagewire.extract.base import ExtractOptions

    def share(path: Path, **options: Any) -> float:
        document = open_document(path, "application/pdf", ExtractOptions(**options))
        try:
            return float(document.scan_share)  # type: ignore[attr-defined]
        finally:
            document.close()

    scan = corpus_dir / "scanned-no-text-layer-2p.pdf"
    text = corpus_dir / "ca1-appeal-17p.pdf"
    # What decides how a job is split between workers (worker/sharding.py).
    assert share(scan) == 1.0
    assert share(text) == 0.0
    assert share(text, ocr="force") == 1.0
    assert share(scan, ocr="off") == 0.0
