"""One benchmark run in its own process: ``python _extract_run.py ENGINE PDF OUT.md [--imports-only]``.

Every engine is timed the same way: from a fresh interpreter, its imports and its
extraction inside the clock. A second process per engine (``--imports-only``) does
the imports alone, so the report can give each figure with and without them, for
every engine alike. Prints one JSON line: pages, seconds and CPU seconds of this
process and its children, peak RSS in MB of the largest of them, and the RSS once
the imports are done.

pagewire runs the path a job runs: the worker's ProcessRunner starts the real
extractor child (``python -m pagewire.extract.child``), which reads every page,
assembles the result and hands it back through its pipe or a file; the markdown is
read from that result, as the API serves it. Its CPU and peak RSS are the child's
plus this process's.

Runs under the project's venv (``pagewire``, ``pypdfium2``) or under
bench/.peers-venv (``pymupdf4llm``, ``markitdown``): AGPL peers never load into the
project's environment.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Extract = Callable[[Path], tuple[int, str, int]]  # (pages, markdown, pages OCR'd)


def _pagewire() -> Extract:
    import asyncio

    from pagewire.worker.runner import ProcessRunner, Task

    def extract(path: Path) -> tuple[int, str, int]:
        async def on_page(done: int, total: int) -> bool:
            return True

        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "result.json"
            task = Task(
                input_path=path,
                media_type="application/pdf",
                options={},  # a job's defaults: ocr=auto, tables on
                output_path=output,
                max_pages=100_000,
                memory_limit_mb=0,
                time_limit=3600.0,
            )
            outcome = asyncio.run(ProcessRunner().run(task, on_page))
            if outcome.status != "completed":
                raise SystemExit(f"pagewire failed: {outcome.error}")
            result: dict[str, Any] = outcome.result or json.loads(output.read_bytes())
        ocr_pages = sum(1 for page in result["pages"] if page.get("ocr"))
        return int(result["page_count"]), str(result["markdown"]), ocr_pages

    return extract


def _pypdfium2() -> Extract:
    import pypdfium2 as pdfium

    def extract(path: Path) -> tuple[int, str, int]:
        pdf = pdfium.PdfDocument(str(path))
        out = []
        for i in range(len(pdf)):
            page = pdf[i]
            tp = page.get_textpage()
            out.append(tp.get_text_range())
            tp.close()
            page.close()
        n = len(pdf)
        pdf.close()
        return n, "\n\n".join(out), 0

    return extract


def _pymupdf4llm() -> Extract:
    import pymupdf

    try:
        import pymupdf.layout
    except ImportError:
        pass
    import pymupdf4llm

    def extract(path: Path) -> tuple[int, str, int]:
        n = pymupdf.open(str(path)).page_count
        return n, pymupdf4llm.to_markdown(str(path)), 0

    return extract


def _markitdown() -> Extract:
    from markitdown import MarkItDown

    def extract(path: Path) -> tuple[int, str, int]:
        try:
            import pypdfium2 as pdfium

            n = len(pdfium.PdfDocument(str(path)))
        except ImportError:
            import pdfminer.pdfpage

            with path.open("rb") as f:
                n = sum(1 for _ in pdfminer.pdfpage.PDFPage.get_pages(f))
        return n, MarkItDown().convert(str(path)).text_content, 0

    return extract


ENGINES: dict[str, Callable[[], Extract]] = {
    "pagewire": _pagewire,
    "pypdfium2": _pypdfium2,
    "pymupdf4llm": _pymupdf4llm,
    "markitdown": _markitdown,
}


def _pagewire_child_imports() -> None:
    """What pagewire's extractor child imports before its first page (imports-only mode)."""
    import pagewire.extract.child  # noqa: F401
    from pagewire.extract import load_engines

    load_engines()


def main() -> None:
    engine, pdf, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    imports_only = "--imports-only" in sys.argv[4:]
    t0, c0 = time.perf_counter(), _cpu()
    extract = ENGINES[engine]()
    if imports_only:
        if engine == "pagewire":
            _pagewire_child_imports()  # the child's, which the timed run pays once per job
        report = {"seconds": time.perf_counter() - t0, "cpu_seconds": _cpu() - c0}
        report["rss_mb"] = _peak_rss_mb()
        print(json.dumps(report))
        return
    rss_after_imports = _current_rss_mb()
    pages, markdown, ocr_pages = extract(pdf)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    out.write_text(markdown)
    report = {
        "pages": pages,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rss_mb": _peak_rss_mb(),
        "rss_after_imports_mb": rss_after_imports,
        "ocr_pages": ocr_pages,
    }
    print(json.dumps(report))


def _cpu() -> float:
    """CPU seconds of this process and its waited-for children (pagewire's extractor,
    tesseract): on a shared machine, CPU time is what "pages per second per core" means."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _peak_rss_mb() -> float:
    """The peak RSS of this process or of its largest child, whichever is larger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * resource.getpagesize() / (1024 * 1024)


if __name__ == "__main__":
    main()
