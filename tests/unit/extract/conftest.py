"""Fixtures for the extraction engine: the generated ground truth and a one-call extractor."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from pagewire.extract import open_document
from pagewire.extract.base import ExtractOptions
from pagewire.extract.ocr import tesseract_available
from pagewire.extract.result import assemble

sys.path.insert(0, str(Path(__file__).parent))

import groundtruth


def extract(path: Path, media_type: str = "application/pdf", **options: Any) -> dict[str, Any]:
    """What the job core does: open, read every selected page, assemble."""
    opts = ExtractOptions(**options)
    doc = open_document(path, media_type, opts)
    try:
        numbers = opts.pages or range(1, doc.page_count + 1)
        return assemble((doc.read_page(n) for n in numbers), opts)
    finally:
        doc.close()


needs_tesseract = pytest.mark.skipif(
    not tesseract_available(),
    reason="tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng)",
)


@pytest.fixture(scope="session")
def truth_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("truth") / "ground-truth.pdf"
    groundtruth.build(path)
    return path


@pytest.fixture(scope="session")
def truth() -> groundtruth.Truth:
    return groundtruth.TRUTH


@pytest.fixture(scope="session")
def truth_result(truth_pdf: Path) -> dict[str, Any]:
    """Text-layer pages only (1-3), so these tests run without tesseract."""
    return extract(truth_pdf, pages=(1, 2, 3), chunking=("page", "header", "recursive"),
                   chunk_size=300, return_html=True)
