"""Chunks by page, by section and by size, each pointing back at its pages and boxes."""

from __future__ import annotations

from typing import Any

from extract_helpers import extract
from groundtruth import Truth


def _chunks(result: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    return [c for c in result["chunks"] if c["mode"] == mode]


def test_page_chunks_are_one_per_page_without_furniture(
    truth_result: dict[str, Any], truth: Truth
) -> None:
    chunks = _chunks(truth_result, "page")
    assert [c["pages"] for c in chunks] == [[1], [2], [3]]
    assert all(truth.furniture[0] not in c["text"] for c in chunks)


def test_header_chunks_follow_sections_with_their_heading_path(
    truth_result: dict[str, Any],
) -> None:
    chunks = _chunks(truth_result, "header")
    firsts = [c["text"].split("\n", 1)[0] for c in chunks]
    assert firsts == [
        "# Extraction Quality Report",
        "## 1 Introduction",
        "### 1.1 Scope of the Study",
        "## 2 Two Column Findings",
        "## 3 Measured Results",
    ]
    assert chunks[2]["headings"] == [
        "Extraction Quality Report",
        "1 Introduction",
        "1.1 Scope of the Study",
    ]
    assert "| Ours | 96.3 | 180 | 88.4 |" in chunks[4]["text"]


def test_recursive_chunks_respect_the_size_and_sentence_boundaries(
    truth_result: dict[str, Any],
) -> None:
    chunks = _chunks(truth_result, "recursive")
    assert len(chunks) > 5
    assert all(len(c["text"]) <= 300 for c in chunks)
    # the long two-column paragraphs were cut between sentences, never inside one
    for c in chunks:
        for part in c["text"].split("\n\n"):
            if part.startswith(("Alpha", "Omega")):
                assert part.endswith("column."), part
    text = " ".join(c["text"] for c in chunks)
    assert "Alpha sentence number 18 belongs to the left column." in text


def test_every_chunk_points_at_boxes_on_its_pages(truth_result: dict[str, Any]) -> None:
    for c in truth_result["chunks"]:
        assert c["boxes"], c
        assert {b["page"] for b in c["boxes"]} <= set(c["pages"])


def test_a_sentence_longer_than_the_chunk_is_split_on_words(tmp_path: Any) -> None:
    path = tmp_path / "long.html"
    path.write_text("<p>" + " ".join(["word"] * 300) + "</p>")
    result = extract(path, "text/html", chunking=("recursive",), chunk_size=100)
    chunks = result["chunks"]
    assert all(len(c["text"]) <= 100 for c in chunks)
    assert all(not c["text"].startswith(" ") and c["text"].endswith("word") for c in chunks)
    assert sum(c["text"].count("word") for c in chunks) == 300


def _page(number: int, *texts: str) -> Any:
    from pagewire.extract.base import BBox, Block, Page

    blocks = tuple(
        Block("paragraph", t, t, bbox=BBox(72, 100 + 50 * i, 540, 140 + 50 * i))
        for i, t in enumerate(texts)
    )
    return Page(number, 612, 792, "\n\n".join(texts), blocks=blocks)


def test_a_paragraph_broken_by_a_page_is_one_chunk_on_both_pages() -> None:
    from pagewire.extract.chunking import chunk

    pages = [
        _page(1, "Intro.", "The court held that the ex-"),
        _page(2, "tent of the right was clear.", "Next paragraph."),
    ]
    for c in chunk(pages, ["header", "recursive"], 2000):
        assert c["text"] == (
            "Intro.\n\nThe court held that the extent of the right was clear.\n\nNext paragraph."
        )
        assert c["pages"] == [1, 2]
        assert [b["page"] for b in c["boxes"]] == [1, 1, 2, 2]
    page_chunks = chunk(pages, ["page"], 2000)  # page chunks keep pages as printed
    assert [c["text"] for c in page_chunks] == [
        "Intro.\n\nThe court held that the ex-",
        "tent of the right was clear.\n\nNext paragraph.",
    ]


def test_a_cut_joined_paragraph_keeps_the_pages_of_each_part() -> None:
    from pagewire.extract.chunking import chunk

    first = "One sentence ends here. Another one is on the first page and"
    pages = [_page(1, first), _page(2, "continues on the second. A last sentence.")]
    chunks = chunk(pages, ["recursive"], 70)
    assert " ".join(c["text"] for c in chunks) == (
        f"{first} continues on the second. A last sentence."
    )
    assert chunks[0]["pages"] == [1]  # "One sentence ends here."
    assert chunks[-1]["pages"] == [2]  # "A last sentence."
    assert any(c["pages"] == [1, 2] for c in chunks)  # the sentence across the break
