"""Golden results for engine work that must not change output: dump, then compare.

    .venv/bin/python -P bench/golden_extract.py dump DIR      # on the code before the change
    .venv/bin/python -P bench/golden_extract.py compare DIR   # after it: every byte the same?

For every PDF in the corpus (ocr=auto and ocr=off), the generated 400-page report and
the ground-truth document, the full result JSON a job would store (markdown, pages,
blocks, tables, chunks of every mode, HTML) is written as the extractor child writes
it. The generated PDFs are built once into DIR and reused by ``compare``, so the two
runs read the very same bytes. ``compare`` prints the first difference of each file
that changed and exits 1 if any did.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("PAGEWIRE_TEST_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "extract"))


def extract(pdf: Path, ocr: str) -> bytes:
    from pagewire.extract import ExtractError, open_document
    from pagewire.extract.base import ExtractOptions, iter_selected
    from pagewire.extract.result import assemble

    options = ExtractOptions(
        ocr=ocr,  # type: ignore[arg-type]
        chunking=("page", "header", "recursive"),
        chunk_size=500,
        return_html=True,
    )
    try:
        document = open_document(pdf, "application/pdf", options)
    except ExtractError as error:  # (empty.pdf) the error is the result
        return json.dumps({"error": error.code, "message": error.message}).encode()
    try:
        pages = [document.read_page(n) for n in iter_selected(document.page_count, options)]
        result: dict[str, Any] = assemble(pages, options)
    finally:
        document.close()
    # As the extractor child serialises it (extract/child.py): key order included.
    return json.dumps(result, ensure_ascii=False).encode()


def cases(directory: Path) -> list[tuple[str, Path, str]]:
    import groundtruth

    long_pdf = directory / "generated-400p.pdf"
    truth_pdf = directory / "ground-truth.pdf"
    if not long_pdf.exists():
        groundtruth.build_long(long_pdf, 400)
    if not truth_pdf.exists():
        groundtruth.build(truth_pdf)
    found = [(pdf.stem, pdf) for pdf in sorted(CORPUS.glob("*.pdf"))]
    found += [("generated-400p", long_pdf), ("ground-truth", truth_pdf)]
    return [(f"{name}.{ocr}.json", pdf, ocr) for name, pdf in found for ocr in ("auto", "off")]


def first_difference(a: bytes, b: bytes) -> str:
    at = next(
        (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b))
    )
    return f"at byte {at}: {a[max(at - 60, 0) : at + 60]!r} != {b[max(at - 60, 0) : at + 60]!r}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=("dump", "compare"))
    parser.add_argument("directory", type=Path)
    args = parser.parse_args()
    args.directory.mkdir(parents=True, exist_ok=True)
    changed = 0
    for name, pdf, ocr in cases(args.directory):
        data = extract(pdf, ocr)
        target = args.directory / name
        if args.action == "dump":
            target.write_bytes(data)
            print(f"wrote {name} ({len(data)} bytes)")
            continue
        golden = target.read_bytes()
        if golden == data:
            print(f"same    {name}")
        else:
            changed += 1
            print(f"CHANGED {name} {first_difference(golden, data)}")
    if args.action == "compare":
        print("all identical" if not changed else f"{changed} files changed")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
