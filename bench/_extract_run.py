"""One benchmark run in its own process: ``python _extract_run.py ENGINE PDF OUT.md``.

Prints one JSON line: pages, seconds and CPU seconds (extraction only, imports
excluded), peak RSS in MB of this process. Runs under the project's venv (``pagewire``, ``pypdfium2``)
or under bench/.peers-venv (``pymupdf4llm``, ``markitdown``): AGPL peers never
load into the project's environment.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _pagewire(path: Path) -> tuple[int, str]:
    from pagewire.extract import open_document
    from pagewire.extract.base import ExtractOptions, page_dict

    opts = ExtractOptions()
    doc = open_document(path, "application/pdf", opts)
    # As the job child does: each page is serialised and written out as it comes,
    # so no page's objects outlive its turn.
    parts = []
    global OCR_PAGES
    with open(os.devnull, "w") as sink:
        for n in range(1, doc.page_count + 1):
            page = doc.read_page(n)
            OCR_PAGES += page.ocr
            sink.write(json.dumps(page_dict(page)))
            parts.append(f"<!-- page {n} -->\n\n{page.markdown}")
    count = doc.page_count
    doc.close()
    return count, "\n\n".join(parts)


OCR_PAGES = 0  # pages our engine had to OCR (they cost ~2 CPU-seconds each)


def _pypdfium2(path: Path) -> tuple[int, str]:
    import pypdfium2 as pdfium

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
    return n, "\n\n".join(out)


def _pymupdf4llm(path: Path) -> tuple[int, str]:
    import pymupdf

    try:
        import pymupdf.layout
    except ImportError:
        pass
    import pymupdf4llm

    n = pymupdf.open(str(path)).page_count
    return n, pymupdf4llm.to_markdown(str(path))


def _markitdown(path: Path) -> tuple[int, str]:
    from markitdown import MarkItDown

    try:
        import pypdfium2 as pdfium

        n = len(pdfium.PdfDocument(str(path)))
    except ImportError:
        import pdfminer.pdfpage

        with path.open("rb") as f:
            n = sum(1 for _ in pdfminer.pdfpage.PDFPage.get_pages(f))
    return n, MarkItDown().convert(str(path)).text_content


ENGINES = {
    "pagewire": _pagewire,
    "pypdfium2": _pypdfium2,
    "pymupdf4llm": _pymupdf4llm,
    "markitdown": _markitdown,
}


def main() -> None:
    engine, pdf, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    run = ENGINES[engine]
    # Import everything the engine needs before the clock starts.
    if engine == "pagewire":
        from pagewire.extract import load_engines

        load_engines()
    t0, c0 = time.perf_counter(), _cpu()
    pages, markdown = run(pdf)
    seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    out.write_text(markdown)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = {"pages": pages, "seconds": seconds, "cpu_seconds": cpu, "rss_mb": rss_mb}
    if engine == "pagewire":
        report["ocr_pages"] = OCR_PAGES
    print(json.dumps(report))


def _cpu() -> float:
    """CPU seconds of this process and its children (tesseract runs as a child):
    on a shared machine, CPU time is what "pages per second per core" means."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


if __name__ == "__main__":
    main()
