"""The ``pages`` option: which pages of a document to read, as merged ranges.

A selection is kept as sorted, disjoint, non-adjacent ``(first, last)`` ranges and
never expanded into its pages: ``"1-5000"`` repeated thousands of times costs a
few ranges, not millions of integers. The spec's length and number of ranges are
capped before anything is parsed, so parsing is cheap whatever a request holds.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_SPEC_CHARS = 2000
MAX_RANGES = 200
_RANGE = re.compile(r"([0-9]{1,9})(?:-([0-9]{1,9}))?")


class InvalidPages(ValueError):
    """A spec that is not a page list within the limits; the message says why."""


@dataclass(frozen=True)
class PageSelection:
    ranges: tuple[tuple[int, int], ...]

    @classmethod
    def parse(cls, spec: str, *, max_page: int) -> PageSelection:
        """``"1-3,7"`` -> ranges (1, 3) and (7, 7); spaces are ignored."""
        if len(spec) > MAX_SPEC_CHARS:
            raise InvalidPages(f"pages is longer than {MAX_SPEC_CHARS} characters")
        parts = spec.replace(" ", "").split(",")
        if len(parts) > MAX_RANGES:
            raise InvalidPages(f"pages has more than {MAX_RANGES} ranges")
        ranges = []
        for part in parts:
            found = _RANGE.fullmatch(part)
            if found is None:
                raise InvalidPages(f"pages {_shown(spec)} is not a page list like '1-3,7'")
            first = int(found.group(1))
            last = int(found.group(2) or first)
            if first < 1 or last < first:
                raise InvalidPages(
                    f"pages {_shown(spec)}: ranges start at 1 and go upwards ('{part}')"
                )
            if last > max_page:
                raise InvalidPages(f"pages {_shown(spec)} goes past the limit of {max_page} pages")
            ranges.append((first, last))
        return cls(_merged(ranges))

    @classmethod
    def of_numbers(cls, numbers: Iterable[int]) -> PageSelection:
        """From a list of page numbers (how jobs stored before ranges keep their selection)."""
        return cls(_merged((n, n) for n in numbers))

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int):
            return False
        at = bisect.bisect_right(self.ranges, (number, float("inf"))) - 1
        return at >= 0 and self.ranges[at][1] >= number

    def __len__(self) -> int:
        """How many pages are selected."""
        return sum(last - first + 1 for first, last in self.ranges)

    def __str__(self) -> str:
        return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in self.ranges)

    @property
    def last(self) -> int:
        return self.ranges[-1][1]

    def first_missing(self, page_count: int) -> int | None:
        """The first selected page a document of ``page_count`` pages lacks, if any."""
        if self.last <= page_count:
            return None
        return next(max(a, page_count + 1) for a, b in self.ranges if b > page_count)

    def numbers(self, page_count: int) -> Iterator[int]:
        """The selected pages a document of ``page_count`` pages has, in order."""
        for first, last in self.ranges:
            yield from range(first, min(last, page_count) + 1)


def _merged(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


def _shown(spec: str) -> str:
    return repr(spec if len(spec) <= 40 else spec[:40] + "...")
