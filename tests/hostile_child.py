"""The real extractor child, acting out a hostile file: ``python hostile_child.py HOOK``,
or its fork server, whose every child acts it out: ``python hostile_child.py --zygote HOOK``.

Test-only: a worker's runner is given :func:`command` and :func:`zygote_command`
instead of the real ones (:func:`runner`). The hook runs where a hostile file would hurt, inside the child's
``run`` (after its memory limit is set, within its error handling), then the real
extraction goes on:

- ``crash``: the child dies of SIGSEGV, as a crashing parser would;
- ``hang``: it never answers again;
- ``memory``: it allocates until its memory limit stops it;
- ``slow:SECONDS``: every page takes that much longer, so a test can act mid-job;
- ``report:PATH``: it writes what an exploit would find to PATH (JSON: its open
  descriptors and their targets, its environment as the kernel holds it), then
  extracts as usual.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pagewire.extract
from pagewire.extract import child
from pagewire.extract.base import Page
from pagewire.worker.runner import ProcessRunner


def command(hook: str) -> tuple[str, ...]:
    """The runner's command for a child that acts out ``hook``."""
    return (sys.executable, str(Path(__file__).resolve()), hook)


def zygote_command(hook: str) -> tuple[str, ...]:
    """The runner's command for a fork server whose children act out ``hook``."""
    return (sys.executable, str(Path(__file__).resolve()), "--zygote", hook)


def runner(hook: str | None = None, *, prefork: bool = True) -> ProcessRunner:
    """A runner whose children act out ``hook`` (None: the real ones), forked or spawned."""
    if hook is None:
        return ProcessRunner(prefork=prefork)
    return ProcessRunner(command(hook), zygote_command=zygote_command(hook), prefork=prefork)


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
    elif hook.startswith("report:"):
        descriptors = {}
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):  # the listing's own, closed by now
                descriptors[fd] = os.readlink(f"/proc/self/fd/{fd}")
        environ = Path("/proc/self/environ").read_bytes().decode(errors="replace")
        report = {"descriptors": descriptors, "environ": environ.split("\0")}
        Path(hook.split(":", 1)[1]).write_text(json.dumps(report))
    else:
        raise SystemExit(f"unknown hook {hook!r}")


def _act_out_in_every_run(hook: str) -> None:
    real_run = child.run

    def run(task: dict[str, Any]) -> None:
        _act_out(hook)
        real_run(task)

    child.run = run


def main(args: list[str]) -> int:
    if args[0] == "--zygote":
        from pagewire.extract import zygote

        _act_out_in_every_run(args[1])  # the forked children inherit it
        return zygote.main()
    _act_out_in_every_run(args[0])
    return child.main()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
