"""Scanned maps: a figure block with their labels, read the right way up (SCOTUS appendix)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from extract_helpers import extract, needs_tesseract

pytestmark = [needs_tesseract, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def appendix(corpus_dir: Path) -> list[dict[str, Any]]:
    """SCOTUS pp. 29-30: two maps scanned sideways, each with a title and a caption."""
    pages: list[dict[str, Any]] = extract(
        corpus_dir / "scotus-slip-opinion-30p.pdf", pages=(29, 30)
    )["pages"]
    return pages


@pytest.mark.parametrize(
    ("at", "title", "caption", "label"),
    [
        (0, "APPENDIX A", "Map of Reach II. Brief for Respondent 33a.", "Lake Texoma"),
        (1, "APPENDIX B", "Map of the Red River Compact. Brief for Respondent 34a.", "COLORADO"),
    ],
)
def test_a_scanned_map_is_one_figure_between_its_title_and_caption(
    appendix: list[dict[str, Any]], at: int, title: str, caption: str, label: str
) -> None:
    page = appendix[at]
    assert page["ocr"] is True
    kinds = [(b["kind"], b["text"]) for b in page["blocks"]]
    # no fake headings or tables from the map's labels: title, map, caption
    assert kinds == [("heading", title), ("figure", ""), ("paragraph", caption)]
    assert label in page["blocks"][1]["alt"]
    assert not page["tables"]


def test_a_map_the_orientation_detector_calls_upright_is_read_turned(
    appendix: list[dict[str, Any]],
) -> None:
    # tesseract's OSD answers "Rotate: 0" for p. 30; read as is it gave "1yNOSSIN SVSNVHUV"
    page = appendix[1]
    assert any("turning it 90 degrees" in w for w in page["warnings"])
    assert "MISSOURI ARKANSAS" in page["blocks"][1]["alt"]
    assert "SVSNVHUV" not in page["markdown"] + page["blocks"][1]["alt"]


def test_a_text_scan_has_no_figure_and_reads_upright(corpus_dir: Path) -> None:
    result = extract(corpus_dir / "scanned-no-text-layer-2p.pdf")
    for page in result["pages"]:
        assert page["ocr"] is True
        assert page["warnings"] == ()
        assert all(b["kind"] != "figure" for b in page["blocks"])
    assert "The Red River Compact (or Compact) is a congressionally" in result["markdown"]
