"""OCR several pages of one document at once, handing them back in page order.

Tesseract takes seconds a page and runs as a process of its own (pytesseract), so
a thread per lane only waits on it. Rendering stays on the caller's thread, since
pdfium may not be entered from two threads, and it overlaps with the tesseracts
already running. At most ``lanes`` pages are rendered and not yet read, which bounds
the memory held to that many page bitmaps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")


class OcrAhead(Generic[T]):
    """Runs ``plan(n)`` for the next pages of ``upcoming`` while page ``n`` is read.

    ``plan(n)`` runs on the caller's thread and returns the blocking work for page
    ``n`` (its OCR), or None when that page needs none; ``take(n)`` gives that work's
    outcome, starting it now if it was not started ahead. Exceptions surface in
    ``take`` for the page that raised them.
    """

    def __init__(
        self,
        lanes: int,
        upcoming: Iterator[int],
        plan: Callable[[int], Callable[[], T] | None],
    ) -> None:
        self._lanes = max(1, lanes)
        self._upcoming = upcoming
        self._plan = plan
        self._planned: dict[int, Future[T] | None] = {}
        self._pool = (
            ThreadPoolExecutor(self._lanes, thread_name_prefix="ocr") if self._lanes > 1 else None
        )

    def look_ahead(self, number: int) -> None:
        """Start the work of ``number`` and of the pages after it, up to ``lanes`` in all."""
        if self._pool is None:
            return
        if number not in self._planned:
            self._submit(number)
        while len(self._planned) < self._lanes:
            following = next(self._upcoming, None)
            if following is None:
                return
            if following not in self._planned:
                self._submit(following)

    def started(self, number: int) -> bool:
        return self._planned.get(number) is not None

    def take(self, number: int) -> T:
        """The outcome of page ``number``'s work, which must have been planned."""
        future = self._planned.pop(number, None)
        if future is None:
            raise KeyError(number)
        return future.result()

    def forget(self, number: int) -> None:
        self._planned.pop(number, None)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._planned.clear()

    def _submit(self, number: int) -> None:
        assert self._pool is not None
        work = self._plan(number)
        self._planned[number] = None if work is None else self._pool.submit(work)
