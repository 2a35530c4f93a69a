"""Line-end hyphens and paragraphs across page breaks, on the rule's own cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from extract_helpers import extract
from reportlab.pdfgen import canvas

from pagewire.extract.base import Block, Page
from pagewire.extract.hyphens import keeps_hyphen, vocabulary
from pagewire.extract.pagejoin import document_markdown
from pagewire.extract.system_words import system_words

PAGE = vocabulary(["the encoder and the decoder", "a sentence at one level", "transduction"])
# a word list as wamerican has them: names capitalised, inflections mostly listed
WORDS = frozenset(
    {"cross", "border", "in", "person", "exception", "Oklahoma", "embedding", "water"}
)
NO_WORDS: frozenset[str] = frozenset()


def test_typesetter_breaks_are_joined_and_compounds_kept() -> None:
    assert not keeps_hyphen("Okla", "homa", PAGE)
    assert not keeps_hyphen("wa", "ter", PAGE)
    assert not keeps_hyphen("transduc", "tion", PAGE)
    assert keeps_hyphen("left-to", "right", PAGE)
    assert keeps_hyphen("state-of-the", "art", PAGE)
    assert keeps_hyphen("English", "to-German", PAGE)
    assert keeps_hyphen("English", "German", PAGE)
    assert keeps_hyphen("encoder", "decoder", PAGE)
    assert keeps_hyphen("sentence", "level", PAGE)


def test_the_word_list_tells_a_compound_from_a_broken_word() -> None:
    assert keeps_hyphen("cross", "border", PAGE, WORDS)
    assert keeps_hyphen("in", "person", PAGE, WORDS)
    assert not keeps_hyphen("excep", "tion", PAGE, WORDS)
    assert not keeps_hyphen("Okla", "homa", PAGE, WORDS)
    assert not keeps_hyphen("embed", "dings", PAGE, WORDS)  # a plural the list lacks
    # what the list does not settle goes by the page, as without a list
    assert keeps_hyphen("encoder", "decoder", PAGE, WORDS)
    assert not keeps_hyphen("transduc", "tion", PAGE, WORDS)


def test_without_a_word_list_the_page_decides_alone() -> None:
    assert not keeps_hyphen("cross", "border", PAGE, NO_WORDS)
    assert not keeps_hyphen("in", "person", PAGE, NO_WORDS)
    assert keeps_hyphen("sentence", "level", PAGE, NO_WORDS)


@pytest.mark.skipif(system_words() is None, reason="no word list (Debian: wamerican)")
def test_compounds_broken_at_their_hyphen_keep_it_with_the_system_word_list(
    tmp_path: Path,
) -> None:
    pdf = tmp_path / "compact.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    c.setFont("Times-Roman", 11)
    lines = [
        "The compact governs the allocation of water across the river basin and its cross-",
        "border flows, and the parties met for in-",
        "person hearings in Okla-",
        "homa during the spring, where the evidence was excep-",
        "tionally detailed about the flows of the river in every month of the year.",
    ]
    for i, line in enumerate(lines):
        c.drawString(72, 700 - 14 * i, line)
    c.save()
    md = extract(pdf, ocr="off")["markdown"]
    assert "its cross-border flows, and the parties met for in-person hearings in Oklahoma" in md
    assert "the evidence was exceptionally detailed" in md


def test_the_documents_own_usage_beats_the_word_list() -> None:
    words = frozenset({"sub", "basins", "pre", "train", "common", "sense"})
    document = vocabulary(["the subbasins of the river", "we pre-train the model", "commonsense"])
    assert not keeps_hyphen("sub", "basins", PAGE, words, document)
    assert keeps_hyphen("pre", "train", PAGE, words, document)
    assert not keeps_hyphen("common", "sense", PAGE, words, document)
    # the page's own words still come first; the document only settles what they do not
    assert not keeps_hyphen("transduc", "tion", PAGE, words, vocabulary(["transduc-tion"]))


def test_a_line_end_hyphen_follows_how_other_pages_write_the_word(tmp_path: Path) -> None:
    pdf = tmp_path / "report.pdf"
    c = canvas.Canvas(str(pdf), pagesize=(612, 792))
    c.setFont("Times-Roman", 11)
    pages = [
        ["The river is divided into five subbasins for the purposes of the compact."],
        [
            "Each party may divert water from the tributaries covered by sub-",
            "basins 1 through 4, as the compact and its annexes set out in detail.",
        ],
    ]
    for lines in pages:
        for i, line in enumerate(lines):
            c.drawString(72, 700 - 14 * i, line)
        c.showPage()
    c.save()
    md = extract(pdf, ocr="off")["markdown"]
    assert "covered by subbasins 1 through 4" in md
    # the same page, read alone: only its own words (and the word list) to go by, and
    # the result does not depend on which pages a request selects
    assert "covered by subbasins 1 through 4" in extract(pdf, ocr="off", pages=[2])["markdown"]


def _page(number: int, *texts: str) -> Page:
    blocks = tuple(Block("paragraph", t, t) for t in texts)
    return Page(number, 612, 792, "\n\n".join(texts), blocks=blocks)


def test_a_paragraph_broken_by_a_page_is_printed_whole_before_the_marker() -> None:
    pages = [
        _page(1, "Intro.", "The court held that the ex-"),
        _page(2, "tent of the right was clear.", "Next paragraph."),
    ]
    md = document_markdown(pages)
    assert md == (
        "<!-- page 1 -->\n\nIntro.\n\nThe court held that the extent of the right was clear."
        "\n\n<!-- page 2 -->\n\nNext paragraph."
    )
    assert pages[1].blocks[0].text == "tent of the right was clear."  # pages keep their text


def test_a_finished_paragraph_is_not_joined_to_the_next_page() -> None:
    pages = [_page(1, "The appeal is dismissed."), _page(2, "then nothing follows.")]
    assert "<!-- page 2 -->\n\nthen nothing follows." in document_markdown(pages)
