"""The real extractor child, acting out a hostile file: ``python hostile_child.py HOOK``.

Test-only: a worker's runner is given :func:`command` instead of the real child's
command. The hook runs where a hostile file would hurt, inside the child's
``run`` (after its memory limit is set, within its error handling), then the real
extraction goes on:

- ``crash``: the child dies of SIGSEGV, as a crashing parser would;
- ``hang``: it never answers again;
- ``memory``: it allocates until its memory limit stops it;
- ``slow:SECONDS``: every page takes that much longer, so a test can act mid-job.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pagewire.extract
from pagewire.extract import child
from pagewire.extract.base import Page


def command(hook: str) -> tuple[str, ...]:
    """The runner's command for a child that acts out ``hook``."""
    return (sys.executable, str(Path(__file__).resolve()), hook)


class _SlowDocument:
    def __init__(self, document: Any, delay: float) -> None:
        self._document = document
        self._delay = delay
        self.page_count = document.page_count

    def read_page(self, number: int) -> Page:
        page: Page = self._document.read_page(number)
        time.sleep(self._delay)
        return page

    def close(self) -> None:
        self._document.close()


def _act_out(hook: str) -> None:
    if hook == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif hook == "hang":
        signal.pause()
    elif hook == "memory":
        hog = []
        while True:
            hog.append(bytearray(64 * 1024 * 1024))
    elif hook.startswith("slow:"):
        delay = float(hook.split(":", 1)[1])
        opened = pagewire.extract.open_document
        pagewire.extract.open_document = lambda *a, **k: _SlowDocument(opened(*a, **k), delay)
    else:
        raise SystemExit(f"unknown hook {hook!r}")


def main(hook: str) -> int:
    real_run = child.run

    def run(task: dict[str, Any]) -> None:
        _act_out(hook)
        real_run(task)

    child.run = run
    return child.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
