"""Real corpus documents against expectations written from reading them (expectations.py).

Every expectation not listed in its document's ``known_misses`` must hold; a listed
one that now holds fails too, so the list stays the truth about what is missing.
Without the system word list, ``needs_word_list`` expectations are known misses too.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "extract"))

from expectations import EXPECTATIONS
from extract_helpers import extract
from scoring import outcomes

from pagewire.extract.system_words import system_words


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_corpus_document_meets_its_expectations(corpus_dir: Path, name: str) -> None:
    expect = EXPECTATIONS[name]
    md = extract(corpus_dir / name, ocr="off")["markdown"]
    met = outcomes(md, expect)
    misses = expect.known_misses | (expect.needs_word_list if system_words() is None else set())
    unknown = (expect.known_misses | expect.needs_word_list) - set(met)
    assert not unknown, f"known_misses or needs_word_list names no expectation: {unknown}"
    failed = sorted(k for k, ok in met.items() if not ok and k not in misses)
    fixed = sorted(k for k in misses if met[k])
    assert not failed, f"{name}: expectations not met: {failed}"
    assert not fixed, f"{name}: met now, remove from known_misses: {fixed}"
