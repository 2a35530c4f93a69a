"""Pages per CPU second of the PDF engine itself, in this process (no child, no imports).

    .venv/bin/python -P bench/extract_inprocess.py [--repeat 3] [--profile NAME]

bench/extract.py times a job's whole path (a fresh child process, its imports);
this isolates what a page costs, for work on the engine: open, every page, assemble,
with OCR off (a text PDF's path), against raw pypdfium2 reading the same pages'
text. The best of ``--repeat`` runs is kept (``time.process_time``: CPU, so another
process on the machine slows it less than it would wall time). ``--profile NAME``
runs one document under cProfile instead and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("PAGEWIRE_TEST_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "extract"))

DOCS = {
    "attention": CORPUS / "attention-is-all-you-need.pdf",
    "bert": CORPUS / "bert-two-column-16p.pdf",
    "complaint": CORPUS / "dnj-complaint-ocr-layer-59p.pdf",
    "scotus": CORPUS / "scotus-slip-opinion-30p.pdf",
}


def pagewire(pdf: Path) -> int:
    from pagewire.extract import open_document
    from pagewire.extract.base import ExtractOptions, iter_selected
    from pagewire.extract.result import assemble

    options = ExtractOptions(ocr="off")
    document = open_document(pdf, "application/pdf", options)
    try:
        pages = [document.read_page(n) for n in iter_selected(document.page_count, options)]
        assemble(pages, options)
    finally:
        document.close()
    return len(pages)


def pypdfium2(pdf: Path) -> int:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    for i in range(len(document)):
        page = document[i]
        textpage = page.get_textpage()
        textpage.get_text_range()
        textpage.close()
        page.close()
    n = len(document)
    document.close()
    return n


def pages_per_second(run: Callable[[Path], int], pdf: Path, repeat: int) -> float:
    best = float("inf")
    pages = 0
    for _ in range(repeat):
        start = time.process_time()
        pages = run(pdf)
        best = min(best, time.process_time() - start)
    return pages / best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", help="attention, bert, complaint, scotus or generated")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--all", action="store_true", help="every corpus PDF, not only the four")
    args = parser.parse_args()

    import groundtruth

    docs = {name: pdf for name, pdf in DOCS.items() if pdf.exists()}
    if args.all:
        docs = {pdf.stem: pdf for pdf in sorted(CORPUS.glob("*.pdf")) if pdf.stat().st_size}
    docs["generated"] = Path(tempfile.mkdtemp(prefix="pagewire-inprocess-")) / "generated-400p.pdf"
    groundtruth.build_long(docs["generated"], 400)
    pagewire(docs["generated"])  # warm up: engine imports, caches

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(pagewire, docs[args.profile])
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(args.top)
        return
    print("| document | pagewire p/s | ms/page | raw pypdfium2 p/s | ratio |")
    print("|---|---|---|---|---|")
    for name, pdf in docs.items():
        ours = pages_per_second(pagewire, pdf, args.repeat)
        raw = pages_per_second(pypdfium2, pdf, args.repeat)
        print(f"| {name} | {ours:.0f} | {1000 / ours:.2f} | {raw:.0f} | {raw / ours:.1f}x |")


if __name__ == "__main__":
    main()
