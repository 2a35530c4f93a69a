"""The child process that extracts one job: ``python -m pagewire.extract.child``.

It reads its task as one JSON line on stdin and reports on stdout, one JSON
object per line: ``open`` (page counts), ``page`` (after each page), then ``done``
or ``error``. A small result rides in ``done``; a larger one goes to a file. The parent may kill it at
any page boundary (cancel), on its time limit, or when it outgrows its memory.

A task with ``ask_pages`` is a job the worker may split across workers (a long
PDF): its ``open`` also gives the ``selected`` pages (a spec), and the child then
waits for one more line on stdin, ``{"pages": SPEC}`` (read only those pages: this
run's part) or ``{"pages": null}`` (all of them). A part (``"part": true`` in the
task, or a narrowed run) ends with ``{"pages": [page, ...]}`` in the place of the
result, for the worker to assemble with the other parts (extract.result).

``done`` also gives what the run cost: ``cpu_seconds`` (this process and the
helpers it waited for, tesseract) and ``peak_rss_mb`` (the larger of its peak and
its largest helper's). A forked child (:mod:`pagewire.extract.zygote`) counts from
its fork, so the figures are what the job itself cost.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from pagewire.extract import sandbox
from pagewire.extract.base import ExtractError, ExtractOptions, iter_selected, page_dict
from pagewire.extract.pages import PageSelection


def die_with_parent(parent_pid: int | None) -> None:
    """Linux: be killed if the worker dies, so a SIGKILLed service leaves no orphans.

    The death signal only covers a parent that dies after it is set: a worker killed
    while this interpreter was still starting has already left us to init, so we
    then check that the worker that spawned us (``parent_pid``) is still our parent.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL))
    except OSError:
        pass
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)  # orphaned before the signal was set: nobody is waiting for us


def _limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _usage() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    helpers = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = own.ru_utime + own.ru_stime + helpers.ru_utime + helpers.ru_stime
    # ru_maxrss is in kilobytes on Linux
    return {
        "cpu_seconds": round(cpu, 4),
        "peak_rss_mb": round(max(own.ru_maxrss, helpers.ru_maxrss) / 1024, 1),
    }


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def options_from_json(raw: dict[str, Any]) -> ExtractOptions:
    return ExtractOptions(
        pages=_selection(raw.get("pages")),
        ocr=raw.get("ocr", "auto"),
        tables=raw.get("tables", True),
        chunking=tuple(raw.get("chunking") or ()),
        chunk_size=raw.get("chunk_size", 1000),
        return_html=raw.get("return_html", False),
    )


def _selection(pages: str | list[int] | None) -> PageSelection | None:
    """The API's canonical spec; jobs queued before ranges hold a list of page numbers."""
    if not pages:
        return None
    if isinstance(pages, str):
        return PageSelection.parse(pages, max_page=1 << 30)
    return PageSelection.of_numbers(pages)


def preload() -> None:
    """Import what :func:`run` uses, so that a fork server's children start with it."""
    import PIL.Image
    import pytesseract  # noqa: F401

    import pagewire.extract.result  # noqa: F401
    from pagewire.extract import load_engines

    load_engines()
    PIL.Image.preinit()  # the image formats a page render or an OCR reads


def run(task: dict[str, Any]) -> None:
    from pagewire.extract import open_document
    from pagewire.extract.result import assemble

    options = replace(
        options_from_json(task.get("options", {})), ocr_lanes=max(1, int(task.get("ocr_lanes", 1)))
    )
    path = Path(task["input_path"])
    part = bool(task.get("part"))
    document = open_document(path, task["media_type"], options)
    try:
        if document.page_count > task.get("max_pages", 1 << 30):
            raise ExtractError(
                "too_many_pages",
                f"the document has {document.page_count} pages; the limit is {task['max_pages']}",
            )
        selected = list(iter_selected(document.page_count, options))
        opened = {"type": "open", "page_count": document.page_count, "pages_total": len(selected)}
        if task.get("ask_pages"):
            # What share of the pages needs OCR (PDF: of those sampled for the layout
            # profile) tells the worker how much work the pages are, so how to split.
            scan_share = getattr(document, "scan_share", 0.0)
            _say(
                {
                    **opened,
                    "selected": str(PageSelection.of_numbers(selected)),
                    "scan_share": scan_share,
                }
            )
            answer = json.loads(sys.stdin.readline() or "{}")
            if answer.get("pages"):
                # This run's part only. Opened again so that reading ahead (OCR) stays
                # within it; the layout profile samples the whole document either way,
                # so every part reads its pages as the whole run would.
                document.close()
                options = replace(options, pages=_selection(answer["pages"]))
                document = open_document(path, task["media_type"], options)
                selected = list(iter_selected(document.page_count, options))
                part = True
        else:
            _say(opened)
        pages = []
        for done, number in enumerate(selected, start=1):
            pages.append(document.read_page(number))
            _say({"type": "page", "done": done, "total": len(selected)})
        result: dict[str, Any] = (
            {"pages": [page_dict(p) for p in pages]} if part else assemble(pages, options)
        )
    except BaseException:
        document.close()  # (its OCR read-ahead stops: nothing waits on it at exit)
        raise
    # Done with the document but not closed: the process ends once the result is sent
    # (os._exit, no teardown), which frees pdfium's parsed pages at no cost; closing
    # them one by one took 6-10 ms of a 15-page job.
    result.setdefault("page_count", document.page_count)
    data = json.dumps(result, ensure_ascii=False).encode()
    finished: dict[str, Any] = {
        "type": "done",
        "page_count": document.page_count,
        "result_size": len(data),
    }
    if len(data) > task.get("inline_limit", 0):
        Path(task["output_path"]).write_bytes(data)
        _say({**finished, **_usage()})
        return
    # Small results travel in the message: no file to write, read back and remove. The
    # result is spliced in as encoded above (encoding it again cost 2-3% of a short job).
    head = json.dumps({**finished, **_usage()})
    sys.stdout.flush()
    sys.stdout.buffer.write(head[:-1].encode() + b', "result": ' + data + b"}\n")
    sys.stdout.flush()


def main() -> int:
    task = json.loads(sys.stdin.readline())
    die_with_parent(task.get("parent_pid"))
    _limit_memory(int(task.get("memory_limit_mb", 0)))
    try:
        # Before the document is opened: from here on a hostile file meets the sandbox.
        sandbox.confine(task.get("sandbox"), task["input_path"], task["output_path"])
        run(task)
    except ExtractError as error:
        _say({"type": "error", "code": error.code, "message": error.message})
    except MemoryError:
        _say(
            {
                "type": "error",
                "code": "memory_limit_exceeded",
                "message": f"extraction needed more than {task.get('memory_limit_mb')} MB",
            }
        )
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # as a forked child ends: no teardown of what the job left open (run)
