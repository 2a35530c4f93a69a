"""The system's English word list (Debian's ``wamerican``: /usr/share/dict/words),
for telling a compound's hyphen from a typesetter's at a line end.

The extractor runs in a fresh process per job and asks about a few words per page,
so the list is never loaded: it is mapped and searched by bisection (about 10 µs a
word, against about 18 ms to build a set of its 100,000 words). wamerican sorts
its lines by their letters' codes, apostrophes and accents ignored ("AZ's" <
"Aachen" < "a" < "éclair" < "eclat"); a few accented neighbours are out of that
order, so the bisection only narrows the search to a window that is then scanned
for the exact line. A list that is missing or not sorted this way is not used.
"""

from __future__ import annotations

import functools
import mmap
import unicodedata
from itertools import pairwise
from pathlib import Path

PATH = Path("/usr/share/dict/words")
WINDOW = 1024  # bytes each side of the bisection's end; 256 finds every ASCII word
_PROBES = 64  # lines read to check the list's order when it is opened


def sort_key(line: bytes) -> bytes:
    text = unicodedata.normalize("NFKD", line.decode("utf-8", "replace"))
    return text.encode("ascii", "ignore").replace(b"'", b"")


class WordList:
    """Membership in a sorted, newline-separated word list; exact and case-sensitive."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self._data = data
        self._size = len(data)

    @classmethod
    def open(cls, path: Path) -> WordList | None:
        """The list at ``path``, or None if it is missing, empty or not sorted as expected."""
        try:
            with path.open("rb") as f:
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # missing, unreadable, or empty (mmap refuses 0 bytes)
            return None
        words = cls(data)
        return words if words._sorted() else None

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str) or not word or "\n" in word:
            return False
        needle = word.encode()
        data = self._data
        if not needle.isascii():
            return data.find(b"\n" + needle + b"\n") >= 0 or data[: len(needle) + 1] == (
                needle + b"\n"
            )
        target = sort_key(needle)
        lo, hi = 0, self._size
        while hi - lo > WINDOW:
            start, end = self._line_at((lo + hi) // 2)
            if sort_key(data[start:end]) < target:
                lo = end
            else:
                hi = start
        lo, hi = max(0, lo - WINDOW), min(self._size, hi + WINDOW)
        if lo == 0 and data[: len(needle) + 1] == needle + b"\n":
            return True
        return data.find(b"\n" + needle + b"\n", lo, hi) >= 0

    def _line_at(self, offset: int) -> tuple[int, int]:
        start = self._data.rfind(b"\n", 0, offset) + 1
        end = self._data.find(b"\n", offset)
        return start, end if end >= 0 else self._size

    def _sorted(self) -> bool:
        # Lines spread over the list, compared by their first two letters: the order
        # a list sorted otherwise (case-blind, say) breaks at once, while a local
        # accent quirk ("Boswell's" before "Boötes") does not reject a good list.
        keys = []
        for i in range(_PROBES):
            start, end = self._line_at(i * self._size // _PROBES)
            keys.append(sort_key(self._data[start:end])[:2])
        return all(a <= b for a, b in pairwise(keys))


@functools.cache
def system_words() -> WordList | None:
    return WordList.open(PATH)


class SystemWords:
    """The system list, opened on the first question; without one, no word is known."""

    def __contains__(self, word: object) -> bool:
        words = system_words()
        return words is not None and word in words


SYSTEM_WORDS = SystemWords()
