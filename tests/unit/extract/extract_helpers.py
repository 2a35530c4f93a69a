"""Helpers the extraction tests import (conftest modules are not importable by name)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pagewire.extract import open_document
from pagewire.extract.base import ExtractOptions
from pagewire.extract.ocr import tesseract_available
from pagewire.extract.pages import PageSelection
from pagewire.extract.result import assemble


def extract(path: Path, media_type: str = "application/pdf", **options: Any) -> dict[str, Any]:
    """What the job core does: open, read every selected page, assemble."""
    if options.get("pages") is not None:
        options["pages"] = PageSelection.of_numbers(options["pages"])
    opts = ExtractOptions(**options)
    doc = open_document(path, media_type, opts)
    try:
        numbers = opts.pages.numbers(doc.page_count) if opts.pages else range(1, doc.page_count + 1)
        return assemble((doc.read_page(n) for n in numbers), opts)
    finally:
        doc.close()


needs_tesseract = pytest.mark.skipif(
    not tesseract_available(),
    reason="tesseract is not installed (Debian: tesseract-ocr tesseract-ocr-eng)",
)
