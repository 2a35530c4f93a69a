"""The engine recovers the structure we drew into a PDF (see groundtruth.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from extract_helpers import extract
from groundtruth import Truth


def _headings(markdown: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6}) (.+)$", markdown, re.M)]


def test_headings_come_back_with_their_levels(truth_result: dict[str, Any], truth: Truth) -> None:
    found = _headings(truth_result["markdown"])
    expected = [h for h in truth.headings if h[1] != "4 Scanned Appendix"]
    assert found == expected


def test_line_end_hyphens_are_joined_but_compound_hyphens_stay(
    truth_result: dict[str, Any], truth: Truth
) -> None:
    md = truth_result["markdown"]
    for word in truth.dehyphenated:
        assert re.search(rf"\b{word}\b", md), word
    assert "extrac-" not in md and "extrac tion" not in md
    for word in truth.kept_hyphen:
        assert word in md


def test_paragraphs_are_separate_blocks(truth_result: dict[str, Any]) -> None:
    page1 = truth_result["pages"][0]
    paragraphs = [b["text"] for b in page1["blocks"] if b["kind"] == "paragraph"]
    assert paragraphs[0].startswith("This report measures")
    assert paragraphs[0].endswith("checked by a test.")
    assert paragraphs[1].startswith("A second paragraph")


def test_bulleted_and_numbered_lists_are_markdown_lists(
    truth_result: dict[str, Any], truth: Truth
) -> None:
    md = truth_result["markdown"]
    assert "\n".join(f"- {item}" for item in truth.bullets) in md
    assert "\n".join(f"{i}. {item}" for i, item in enumerate(truth.numbered, 1)) in md


def test_two_columns_are_read_left_column_first(truth_result: dict[str, Any], truth: Truth) -> None:
    md = truth_result["pages"][1]["markdown"]
    positions = [md.index(s) for s in truth.left + truth.right]
    assert positions == sorted(positions)


def test_running_headers_footers_and_page_numbers_stay_out_of_the_body(
    truth_result: dict[str, Any], truth: Truth
) -> None:
    for page in truth_result["pages"]:
        for text in truth.furniture:
            assert text not in page["markdown"]
        kinds = {(f["kind"], f["text"]) for f in page["furniture"]}
        assert ("header", truth.furniture[0]) in kinds
        assert ("footer", truth.furniture[1]) in kinds
        assert ("page_number", str(page["number"])) in kinds


def test_whitespace_and_ruled_tables_come_back_as_cells(
    truth_result: dict[str, Any], truth: Truth
) -> None:
    tables = truth_result["pages"][2]["tables"]
    assert [[list(r) for r in t["rows"]] for t in tables] == truth.tables
    assert "| Model | Pages/s | Memory | Score |" in truth_result["markdown"]


def test_table_captions_are_kept_as_captions(truth_result: dict[str, Any], truth: Truth) -> None:
    captions = [b["text"] for b in truth_result["pages"][2]["blocks"] if b["kind"] == "caption"]
    assert captions == truth.captions


def test_blocks_carry_boxes_inside_their_page(truth_result: dict[str, Any]) -> None:
    for page in truth_result["pages"]:
        for block in page["blocks"]:
            box = block["bbox"]
            assert 0 <= box["x0"] < box["x1"] <= page["width"]
            assert 0 <= box["y0"] < box["y1"] <= page["height"]
    heading = truth_result["pages"][0]["blocks"][0]
    assert heading["kind"] == "heading" and heading["bbox"]["y0"] < 100  # top of the page


def test_result_marks_page_boundaries(truth_result: dict[str, Any]) -> None:
    md = truth_result["markdown"]
    assert md.index("<!-- page 1 -->") < md.index("<!-- page 2 -->") < md.index("<!-- page 3 -->")
    assert truth_result["page_count"] == 3


def test_html_has_headings_lists_and_tables(truth_result: dict[str, Any]) -> None:
    html = truth_result["html"]
    assert "<h1>Extraction Quality Report</h1>" in html
    assert "<li>Faster parsing of long filings</li>" in html
    assert "<td>Ours</td>" in html


def test_tables_off_keeps_the_cells_as_text(truth_pdf: Path) -> None:
    result = extract(truth_pdf, pages=(3,), tables=False)
    page = result["pages"][0]
    assert page["tables"] == ()
    assert "|" not in page["markdown"]
    assert "Ours 96.3 180 88.4" in page["markdown"]
