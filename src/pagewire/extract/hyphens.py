"""Line-end hyphens: a word broken by the typesetter, or a compound that happens to
break at its own hyphen?

Text layers mark line-end hyphens (pdfium: U+FFFE), OCR keeps them as ``-``; neither
says which kind it is. The rule, first match wins:

1. keep the hyphen when the next part starts with a capital or a digit
   (``English-`` / ``German``), or is itself hyphenated (``English-`` / ``to-German``);
2. keep it when the broken word already holds a hyphen (``left-to-`` / ``right``,
   ``state-of-the-`` / ``art``): the break falls inside a compound;
3. join without it when the joined word occurs elsewhere on the page
   (``transduc-`` / ``tion`` and ``transduction``);
4. keep it when the hyphenated compound occurs elsewhere on the page;
4'. the same two questions of the document (a PDF's text on the pages its layout
   profile samples, the same pages however the job is split): ``sub-`` / ``basins``
   joins in a report that writes "subbasins" on another page;
5. with the system's word list (:mod:`~pagewire.extract.system_words`; without one
   this step decides nothing): join when the joined word is in it (``Okla-`` /
   ``homa``, ``excep-`` / ``tion``), keep the hyphen when both parts are and the
   joined word is not (``cross-`` / ``border``, ``in-`` / ``person``);
6. keep it when both parts are words of four letters or more that occur on their
   own on the page (``encoder-`` / ``decoder``, ``sentence-`` / ``level``);
7. otherwise join without it (``wa-`` / ``ter``, ``transduc-`` / ``tion``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable

from pagewire.extract.system_words import SYSTEM_WORDS

_WORDS = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LEADING_LETTERS = re.compile(r"[^\W\d_]+")


def vocabulary(texts: Iterable[str]) -> set[str]:
    """The lower-cased words (hyphenated compounds whole, and their parts) of ``texts``."""
    words: set[str] = set()
    for text in texts:
        for word in _WORDS.findall(text):
            word = word.lower()
            words.add(word)
            if "-" in word:
                words.update(word.split("-"))
    return words


class DocumentWords:
    """A document's vocabulary, built on its first question: most documents never ask
    (their line-end hyphens are settled by their own page), and building it costs a
    few milliseconds."""

    def __init__(self, build: Callable[[], set[str]]) -> None:
        self._build = build
        self._words: set[str] | None = None

    def __contains__(self, word: object) -> bool:
        if self._words is None:
            self._words = self._build()
        return word in self._words


def keeps_hyphen(
    broken: str,
    rest: str,
    words: set[str] | None,
    dictionary: Container[str] = SYSTEM_WORDS,
    document: Container[str] | None = None,
) -> bool:
    """Whether ``broken`` (the line's last word, without its hyphen) and ``rest`` (the
    next line's first word) join with the hyphen kept; ``words`` is the page's
    vocabulary (:func:`vocabulary`), or None when there is none to consult,
    ``dictionary`` the language's words (the system list by default) and
    ``document`` the document's own (:class:`DocumentWords`), if known."""
    if not rest or not rest[0].isalpha() or not rest[0].islower() or "-" in rest:
        return True
    if "-" in broken or not broken[-1:].isalpha():
        return True
    if words is None:
        return False
    head = re.search(r"[^\W\d_]+$", broken)
    tail = _LEADING_LETTERS.match(rest)
    if head is None or tail is None:
        return False
    left, right = head.group().lower(), tail.group().lower()
    if left + right in words:
        return False
    if f"{left}-{right}" in words:
        return True
    if document is not None:
        # The document's usage beats the dictionary's: a report that writes
        # "subbasins" throughout means "sub-" / "basins" as one word.
        if left + right in document:
            return False
        if f"{left}-{right}" in document:
            return True
    known = _known(head.group() + tail.group(), left, right, dictionary)
    if known is not None:
        return known
    return len(left) >= 4 and len(right) >= 4 and left in words and right in words


def _known(joined: str, left: str, right: str, dictionary: Container[str]) -> bool | None:
    """The word list's answer (keep the hyphen?), or None when it has none."""
    lower = joined.lower()
    if joined in dictionary or lower in dictionary:
        return False
    if lower.endswith("s") and lower[:-1] in dictionary:
        return False  # a plural the list lacks: "embed-" / "dings" (it has "embedding")
    # Two-letter parts count ("in-person"); the list's single letters do not. Only its
    # lower-case entries are parts: "Herr-" / "mann" is a name, not two words.
    if len(left) >= 2 and len(right) >= 2 and left in dictionary and right in dictionary:
        return True
    return None
