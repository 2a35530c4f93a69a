"""Real documents from the shared corpus: what a reader of each would check first."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from extract_helpers import extract, needs_tesseract


@pytest.fixture(scope="module")
def attention(corpus_dir: Path) -> dict[str, Any]:
    return extract(corpus_dir / "attention-is-all-you-need.pdf")


@pytest.fixture(scope="module")
def bert(corpus_dir: Path) -> dict[str, Any]:
    return extract(corpus_dir / "bert-two-column-16p.pdf")


def _headings(md: str) -> list[tuple[int, str]]:
    return [(len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6}) (.+)$", md, re.M)]


def test_attention_title_and_sections_are_headings(attention: dict[str, Any]) -> None:
    headings = _headings(attention["markdown"])
    assert headings[0] == (1, "Attention Is All You Need")
    for expected in [
        (2, "1 Introduction"),
        (2, "3 Model Architecture"),
        (3, "3.1 Encoder and Decoder Stacks"),
        (4, "3.2.1 Scaled Dot-Product Attention"),
        (2, "6 Results"),
        (2, "7 Conclusion"),
    ]:
        assert expected in headings


def test_attention_tables_one_to_four_have_cells(attention: dict[str, Any]) -> None:
    tables = [t for p in attention["pages"] for t in p["tables"]]
    flat = [" ".join(" ".join(r) for r in t["rows"]) for t in tables]
    assert any("Self-Attention" in f and "Recurrent" in f for f in flat)  # table 1
    assert any("ByteNet" in f and "28.4" in f for f in flat)  # table 2
    assert any("base" in f and "big" in f and "d<sub>model</sub>" in f for f in flat)  # table 3
    assert any("WSJ" in f for f in flat)  # table 4
    table1 = next(t for t in tables if "Layer Type" in t["rows"][0])
    assert list(table1["rows"][0]) == [
        "Layer Type",
        "Complexity per Layer",
        "Sequential Operations",  # a header wrapped over two lines is one cell
        "Maximum Path Length",
    ]
    table2 = next(t for t in tables if any("GNMT + RL [38]" in r for r in t["rows"]))
    row = next(r for r in table2["rows"] if r[0] == "GNMT + RL [38]")
    assert "24.6" in row and "39.92" in row


def test_attention_captions_and_page_numbers(attention: dict[str, Any]) -> None:
    captions = [
        b["text"] for p in attention["pages"] for b in p["blocks"] if b["kind"] == "caption"
    ]
    assert any(c.startswith("Table 1:") for c in captions)
    # a figure's caption is its figure block's text (docs/extraction.md, Figures)
    figures = [b for p in attention["pages"] for b in p["blocks"] if b["kind"] == "figure"]
    assert any(f["text"].startswith("Figure 1:") for f in figures)
    page3 = attention["pages"][2]
    assert ("page_number", "3") in {(f["kind"], f["text"]) for f in page3["furniture"]}
    assert not page3["markdown"].rstrip().endswith("\n3")


def test_attention_arxiv_stamp_is_not_body_text(attention: dict[str, Any]) -> None:
    assert "arXiv:1706.03762v7" not in attention["pages"][0]["markdown"]


def test_bert_two_columns_read_in_order(bert: dict[str, Any]) -> None:
    md = bert["pages"][0]["markdown"]
    # left column: abstract then introduction; right column continues the introduction
    assert md.index("We introduce a new language") < md.index("1 Introduction")
    assert md.index("Language model pre-training") < md.index("There are two existing strategies")


def test_bert_glue_table_has_rows_of_cells(bert: dict[str, Any]) -> None:
    tables = [t for p in bert["pages"] for t in p["tables"]]
    glue = next(t for t in tables if t["rows"] and t["rows"][0][0] == "System")
    # the header's second row (training set sizes) is folded into the header
    assert glue["rows"][0][1] == "MNLI-(m/mm) 392k"
    row = next(r for r in glue["rows"] if r[0] == "BERTLARGE")
    assert list(row[1:]) == [
        "86.7/85.9",
        "72.1",
        "92.7",
        "94.9",
        "60.5",
        "86.5",
        "89.3",
        "70.1",
        "82.1",
    ]


def test_complaint_uses_its_hidden_ocr_layer_and_strips_court_stamps(corpus_dir: Path) -> None:
    result = extract(corpus_dir / "dnj-complaint-ocr-layer-59p.pdf", pages=(1, 2, 30))
    assert not any(p["ocr"] for p in result["pages"])  # the layer is used, no re-OCR
    assert "DISTRICT OF NEW JERSEY" in result["pages"][0]["markdown"]
    for page in result["pages"]:
        assert "PageID" not in page["markdown"]
        assert any("PageID" in f["text"] for f in page["furniture"])


def test_court_filing_numbered_paragraphs_are_a_list(corpus_dir: Path) -> None:
    result = extract(corpus_dir / "dnj-complaint-ocr-layer-59p.pdf", pages=(1,))
    md = result["markdown"]
    assert "# I. JURISDICTION AND VENUE" in md.replace("## ", "# ")
    assert re.search(r"^1\. This Court has jurisdiction", md, re.M)


def test_scotus_running_head_is_furniture(corpus_dir: Path) -> None:
    result = extract(corpus_dir / "scotus-slip-opinion-30p.pdf", pages=(6, 7))
    for page in result["pages"]:
        assert "TARRANT REGIONAL WATER DIST. v. HERRMANN" not in page["markdown"][:80]
        assert page["furniture"]


@needs_tesseract
def test_scanned_filing_is_read_by_ocr(corpus_dir: Path) -> None:
    result = extract(corpus_dir / "scanned-no-text-layer-2p.pdf", pages=(1,))
    page = result["pages"][0]
    assert page["ocr"] is True
    assert "SUPREME COURT OF THE UNITED STATES" in page["markdown"]
    assert "Red River Compact" in page["markdown"]


def test_justified_filing_prose_is_not_mistaken_for_tables(corpus_dir: Path) -> None:
    # ca1 is justified Courier: its stretched word gaps are wider than an em.
    result = extract(corpus_dir / "ca1-appeal-17p.pdf", pages=(3, 13, 14))
    assert all(p["tables"] == () for p in result["pages"])
    assert "SELYA, Circuit Judge. This interlocutory appeal arises" in result["markdown"]


def test_hanging_bullets_are_list_items_not_tables(corpus_dir: Path) -> None:
    result = extract(corpus_dir / "dnj-complaint-ocr-layer-59p.pdf", pages=(43,))
    page = result["pages"][0]
    assert page["tables"] == ()
    assert "- Failure to seek a second detention hearing;" in page["markdown"]


def test_a_case_name_broken_before_its_v_stays_in_its_paragraph(corpus_dir: Path) -> None:
    # "... Hernandez Roman, et al." / "v. Wolf, et al., Case No. 20-55436": the line
    # starting with "v." is not a fifth Roman list item, nor the start of a new block.
    result = extract(corpus_dir / "ca9-appeal-15p.pdf", pages=(3,))
    page = result["pages"][0]
    assert [b["kind"] for b in page["blocks"]].count("list_item") == 0
    assert "Hernandez Roman, et al. v. Wolf, et al., Case No. 20-55436" in page["markdown"]


def test_an_opinions_lone_section_numbers_are_nested_headings(corpus_dir: Path) -> None:
    # The opinion sets "I", "A", "B", "II" centred on lines of their own above the text
    # they number: headings (Roman above letters), not the first word of a paragraph.
    md = extract(corpus_dir / "scotus-slip-opinion-30p.pdf", pages=tuple(range(5, 14)))["markdown"]
    headings = _headings(md)
    assert [h for h in headings if h[1] in ("I", "II", "A", "B")][:4] == [
        (2, "I"),
        (3, "A"),
        (3, "B"),
        (2, "II"),
    ]
    assert "\nThe Red River (or River) begins in the Llano Estacado Mesa" in md
    assert "I A The Red River" not in md


def test_a_capital_inside_a_formula_is_not_a_section_number(bert: dict[str, Any]) -> None:
    # "weights W ∈" / "R" (the reals, set on a line of its own) / "KxH": no lone-letter heading
    assert not [h for h in _headings(bert["markdown"]) if len(h[1]) <= 2]


def test_an_author_grid_is_a_table_even_where_a_row_sits_tight(
    attention: dict[str, Any],
) -> None:
    # The e-mail row under four names sits closer than a column gap, so it reads as one
    # segment; it is still the grid's third row, not part of a heading.
    grids = [t["rows"] for t in attention["pages"][0]["tables"] if len(t["rows"][0]) == 4]
    assert grids, "the four-author grid is not a table"
    names, places, mails = grids[0]
    assert names[0].startswith("Ashish Vaswani") and names[3].startswith("Jakob Uszkoreit")
    assert list(places) == ["Google Brain", "Google Brain", "Google Research", "Google Research"]
    assert list(mails) == [
        "avaswani@google.com",
        "noam@google.com",
        "nikip@google.com",
        "usz@google.com",
    ]
    assert "#### Ashish Vaswani" not in attention["markdown"]


def test_a_justified_bibliography_is_not_read_as_a_table(bert: dict[str, Any]) -> None:
    # Wide word gaps in justified references split lines in two; lines between them
    # are no cells wrapped in a column ("man. 2018." / "Neural network acceptability judg")
    tables = [t for p in bert["pages"] for t in p["tables"]]
    assert not [t for t in tables if "Warstadt" in str(t["rows"]) or "2018." in str(t["rows"])]
    assert "Samuel R Bowman. 2018. Neural network acceptability judgments." in bert["markdown"]


def test_a_footnote_run_on_under_the_next_page_is_read_whole(corpus_dir: Path) -> None:
    # Note 6 breaks at page 11's foot ("Dic-") and goes on, unmarked, under page 12's text.
    result = extract(
        corpus_dir / "scotus-slip-opinion-30p.pdf",
        pages=(11, 12),
        chunking=("recursive",),
        chunk_size=400,
    )
    assert "Webster\u2019s Third New International Dictionary 19 (1966)." in result["markdown"]
    assert "\n\ntionary 19 (1966)." not in result["markdown"]
    holding = [c for c in result["chunks"] if "Dictionary 19 (1966)" in c["text"]]
    assert [c["pages"] for c in holding] == [[11, 12]]
    # each page keeps its own part where it is printed
    assert result["pages"][1]["blocks"][-1]["text"] == "tionary 19 (1966)."
