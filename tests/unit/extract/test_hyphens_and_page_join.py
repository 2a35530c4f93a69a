"""Line-end hyphens and paragraphs across page breaks, on the rule's own cases."""

from __future__ import annotations

from pagewire.extract.base import Block, Page
from pagewire.extract.hyphens import keeps_hyphen, vocabulary
from pagewire.extract.pagejoin import document_markdown

PAGE = vocabulary(["the encoder and the decoder", "a sentence at one level", "transduction"])


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
