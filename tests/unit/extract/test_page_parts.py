"""A page travels as JSON between runs of a split job and comes back whole.

A shard's pages reach the run that assembles the job as JSON (its part); the job's
result must be what one run makes, so a page read back must equal the page read.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from pagewire.extract import open_document
from pagewire.extract.base import ExtractOptions, page_dict, page_from_dict
from pagewire.extract.result import assemble


def test_a_page_read_back_from_its_json_is_the_page(truth_pdf: Path) -> None:
    options = ExtractOptions(chunking=("page", "header"), chunk_size=300, return_html=True)
    document = open_document(truth_pdf, "application/pdf", options)
    try:
        pages = [document.read_page(n) for n in (1, 2, 3)]
    finally:
        document.close()
    assert any(p.tables for p in pages) and any(b.bbox for p in pages for b in p.blocks)

    back = [page_from_dict(json.loads(json.dumps(page_dict(p)))) for p in pages]

    assert back == pages
    assert assemble(back, options) == assemble(pages, options)


def test_a_pages_json_holds_every_field_of_the_page(truth_pdf: Path) -> None:
    # page_dict writes the fields out (asdict's deep copy is slow): none may be left behind.
    document = open_document(truth_pdf, "application/pdf", ExtractOptions(ocr="off"))
    try:
        pages = [document.read_page(n) for n in range(1, document.page_count + 1)]
    finally:
        document.close()

    assert [page_dict(p) for p in pages] == [asdict(p) for p in pages]
