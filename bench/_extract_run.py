"""One benchmark run in its own process: ``python _extract_run.py ENGINE PDF OUT.md [--imports-only]``.

Every library engine is timed the same way: from a fresh interpreter, its imports
and its extraction inside the clock. A second process per engine (``--imports-only``)
does the imports alone, so the report can give each figure with and without them.
Prints one JSON line: pages, seconds and CPU seconds of this process and its
children, peak RSS in MB of the largest of them, and the RSS once the imports are
done.

pagewire is a service, not a library: it runs the path a job runs in a running
worker, which pays no imports per job. The worker's ProcessRunner
has its fork server up already (started outside the clock: that start is its
"imports" figure, in ``--imports-only`` mode), which forks the real extractor child
for the job; the child reads every page, assembles the result and hands it back
through its pipe or a file; the markdown is read from that result, as the API
serves it. Its CPU is this process's during the job plus what the child reports
of itself (and tesseract); its peak RSS the larger of this process's and the
child's; its RSS after imports is the fork server's, which every child starts from.

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


def _pagewire(
    pdf: Path, out: Path, imports_only: bool, options: dict[str, Any]
) -> dict[str, float]:
    """One job as a running worker pays for it: the runner's fork server started first.

    Its ``cpu_seconds`` leave the fork server's start out (``per_job`` says so): the
    report adds the ``--imports-only`` figure back for its "with imports" column."""
    import asyncio

    from pagewire.worker.runner import ProcessRunner, Task

    async def on_page(done: int, total: int) -> bool:
        return True

    async def measure() -> dict[str, float]:
        runner = ProcessRunner()
        t0, c0 = time.perf_counter(), _own_cpu()
        if not await runner.start():
            raise SystemExit("pagewire's fork server did not start")
        if imports_only:
            seconds = time.perf_counter() - t0
            runner.close()  # reaped: its CPU and peak RSS are counted as a child's
            return {"seconds": seconds, "cpu_seconds": _cpu() - c0, "rss_mb": _peak_rss_mb()}
        assert runner.zygote_pid is not None
        rss_after_imports = _current_rss_mb(runner.zygote_pid)
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "result.json"
            task = Task(
                input_path=pdf,
                media_type="application/pdf",
                options=options,
                output_path=output,
                max_pages=100_000,
                memory_limit_mb=0,
                time_limit=3600.0,
            )
            t0, c0 = time.perf_counter(), _own_cpu()
            outcome = await runner.run(task, on_page)
            # The job's path ends here: a result too large for the pipe is in its file,
            # which the worker stores as it is (a blob) without parsing it.
            seconds, cpu = time.perf_counter() - t0, _own_cpu() - c0
            if outcome.status != "completed":
                raise SystemExit(f"pagewire failed: {outcome.error}")
            result: dict[str, Any] = outcome.result or json.loads(output.read_bytes())
        runner.close()
        out.write_text(str(result["markdown"]))
        return {
            "pages": int(result["page_count"]),
            "seconds": seconds,
            "cpu_seconds": cpu + (outcome.cpu_seconds or 0.0),
            "rss_mb": max(_own_peak_rss_mb(), outcome.peak_rss_mb or 0.0),
            "rss_after_imports_mb": rss_after_imports,
            "ocr_pages": sum(1 for page in result["pages"] if page.get("ocr")),
            "per_job": 1.0,
        }

    return asyncio.run(measure())


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


# pagewire's runs by the job options they send: a job's defaults (ocr=auto, tables
# on), and the same with OCR off (its speed on a document's text-layer pages alone).
PAGEWIRE: dict[str, dict[str, Any]] = {"pagewire": {}, "pagewire-text": {"ocr": "off"}}

ENGINES: dict[str, Callable[[], Extract]] = {
    "pypdfium2": _pypdfium2,
    "pymupdf4llm": _pymupdf4llm,
    "markitdown": _markitdown,
}


def main() -> None:
    engine, pdf, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    imports_only = "--imports-only" in sys.argv[4:]
    if engine in PAGEWIRE:
        print(json.dumps(_pagewire(pdf, out, imports_only, PAGEWIRE[engine])))
        return
    t0, c0 = time.perf_counter(), _cpu()
    extract = ENGINES[engine]()
    if imports_only:
        report = {"seconds": time.perf_counter() - t0, "cpu_seconds": _cpu() - c0}
        report["rss_mb"] = _peak_rss_mb()
        print(json.dumps(report))
        return
    rss_after_imports = _current_rss_mb()
    c1 = _cpu()
    pages, markdown, ocr_pages = extract(pdf)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    out.write_text(markdown)
    report = {
        "pages": pages,
        "seconds": seconds,
        "cpu_seconds": cpu,
        # The extraction alone, imports done: measured, not the run less a separate
        # imports-only run (on a 5-page file that difference is mostly noise).
        "extract_cpu_seconds": _cpu() - c1,
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


def _own_cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _own_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _peak_rss_mb() -> float:
    """The peak RSS of this process or of its largest child, whichever is larger."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def _current_rss_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * resource.getpagesize() / (1024 * 1024)


if __name__ == "__main__":
    main()
