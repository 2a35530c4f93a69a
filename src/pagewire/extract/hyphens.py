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
4. keep it when the hyphenated compound occurs elsewhere on the page, or when both
   parts are words of four letters or more that occur on their own
   (``encoder-`` / ``decoder``, ``sentence-`` / ``level``);
5. otherwise join without it (``Okla-`` / ``homa``, ``wa-`` / ``ter``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

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


def keeps_hyphen(broken: str, rest: str, words: set[str] | None) -> bool:
    """Whether ``broken`` (the line's last word, without its hyphen) and ``rest`` (the
    next line's first word) join with the hyphen kept; ``words`` is the page's
    vocabulary (:func:`vocabulary`), or None when there is none to consult."""
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
    return len(left) >= 4 and len(right) >= 4 and left in words and right in words
