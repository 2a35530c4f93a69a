"""The system word list is searched in place; a list it cannot search is not used."""

from __future__ import annotations

from pathlib import Path

import pytest

from pagewire.extract.system_words import PATH, WordList, sort_key, system_words

# sorted as wamerican is: by the letters' codes, apostrophes and accents ignored
LINES = ["A", "AA's", "Aachen", "Oklahoma", "a", "aardvark", "border", "cross", "éclair", "in"]


def _list(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "words"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_listed_word_is_found_and_no_other(tmp_path: Path) -> None:
    assert sorted(LINES, key=lambda w: sort_key(w.encode())) == LINES
    words = WordList.open(_list(tmp_path, LINES))
    assert words is not None
    assert all(w in words for w in LINES)
    assert not any(w in words for w in ("crossborder", "oklahoma", "Cross", "bord", "", "éclat"))


def test_a_list_sorted_some_other_way_or_missing_is_not_used(tmp_path: Path) -> None:
    # names among the other words ("Boston", "bottle"), not all of them first
    words = [w for c in "abcdefghijklmnopqrstuvwxyz" for w in (f"{c.upper()}{c}ton", f"{c}ttle")]
    assert WordList.open(_list(tmp_path, sorted(words, key=lambda w: sort_key(w.encode()))))
    assert WordList.open(_list(tmp_path, sorted(words, key=str.lower))) is None
    assert WordList.open(tmp_path / "missing") is None
    (tmp_path / "empty").write_bytes(b"")
    assert WordList.open(tmp_path / "empty") is None


@pytest.mark.skipif(system_words() is None, reason="no word list (Debian: wamerican)")
def test_every_word_of_the_system_list_is_found() -> None:
    words = system_words()
    assert words is not None
    lines = PATH.read_text(encoding="utf-8").splitlines()
    assert [w for w in lines if w not in words] == []
    assert "crossborder" not in words and "inperson" not in words
