"""Regenerate docs/performance.md from the benches' results files.

    .venv/bin/python bench/render_performance.py [--allow-quick]

Every figure on the page comes from ``bench/results/<bench>.json`` (written by
``bench/extract.py``, ``bench/webhooks.py`` and ``bench/queue.py``): the summary
table at the top from each file's ``summary`` rows, and each bench's section from
its ``section``, under a line naming the machine, the date and the load of that
run; the extraction and scan sections are also written into docs/extraction.md,
between its ``measured`` markers. The page's ``## Design notes`` section (and anything after it) is hand-written
and kept as it is. A results file from a reduced ``--quick`` run is refused unless
``--allow-quick`` is given (a check of the bench, not figures to publish).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs" / "performance.md"
BENCHES = ["extract", "scan", "webhooks", "queue"]  # the page's order
KEPT = "## Design notes"
# docs/extraction.md holds the extraction and scan figures too, between these markers.
EXTRACTION_DOC = ROOT / "docs" / "extraction.md"
MEASURED_START = "<!-- measured: written by bench/render_performance.py -->"
MEASURED_END = "<!-- end of measured -->"

INTRO = """# Performance

Every figure here, except the [design notes](#design-notes) at the end, is measured
by a script in `bench/` and read from the results file it wrote
(`bench/results/<bench>.json`, with the machine, the date and the machine's load
average of the run); `make bench` runs the benches and then
`bench/render_performance.py`, which rewrites this page from those files. Each bench
prints ours beside a peer's measured in the same run, on the same machine. Figures
move by tens of percent from run to run on a shared machine: compare the rows of one
run, not rows of different runs.
"""


def provenance(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = result["load_average"]
    before = f"{load['before']:.1f} before, " if load.get("before") is not None else ""
    memory = f", {m['memory_gib']:g} GiB" if m.get("memory_gib") else ""
    return (
        f"*Run {result['date']} on {m['system']} {m['arch']}, {m['cores']} cores{memory}, "
        f"Python {m['python']}; load average {before}{load['after']:.1f} after. "
        f"Reproduce with `{result['command']}`; figures from "
        f"`bench/results/{result['bench']}.json`.*"
    )


def render(results: dict[str, dict[str, Any]], kept: str) -> str:
    lines = [INTRO.rstrip(), ""]
    rows = [(name, row) for name in BENCHES if name in results for row in results[name]["summary"]]
    if rows:
        lines += ["| figure | target | measured | run |", "|---|---|---|---|"]
        for name, row in rows:
            lines.append(
                f"| {row['figure']} | {row.get('target', '')} | {row['measured']} "
                f"| {name}, {results[name]['date']} |"
            )
        lines.append("")
    for name in BENCHES:
        if name not in results:
            lines += [f"## {name.title()}", "", "Not measured yet: run `make bench`.", ""]
            continue
        result = results[name]
        lines += [
            f"## {result['title']}",
            "",
            provenance(result),
            "",
            result["section"].strip(),
            "",
        ]
    if kept:
        lines.append(kept.strip())
    return "\n".join(lines).rstrip() + "\n"


def kept_section(path: Path) -> str:
    """The hand-written tail of the page, from ``## Design notes`` on."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    at = text.find("\n" + KEPT)
    return text[at + 1 :] if at >= 0 else ""


def load(allow_quick: bool) -> dict[str, dict[str, Any]]:
    results = {}
    for name in BENCHES:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("quick") and not allow_quick:
            raise SystemExit(f"{path} is from a --quick run: rerun the bench in full")
        results[name] = result
    return results


def with_measured_block(text: str, results: dict[str, dict[str, Any]]) -> str:
    """``text`` (docs/extraction.md) with the block between its markers rewritten from
    the extraction and scan results: the same figures as this page, beside the peers'."""
    start, end = text.find(MEASURED_START), text.find(MEASURED_END)
    if start < 0 or end < start:
        return text
    lines = [MEASURED_START, ""]
    for name in ("extract", "scan"):
        if name in results:
            result = results[name]
            lines += [f"### {result['title']}", "", provenance(result), ""]
            lines += [result["section"].strip(), ""]
    return text[:start] + "\n".join(lines) + text[end:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allow-quick", action="store_true")
    parser.add_argument("--output", type=Path, default=DOCS)
    parser.add_argument("--extraction-doc", type=Path, default=EXTRACTION_DOC)
    args = parser.parse_args()
    results = load(args.allow_quick)
    args.output.write_text(render(results, kept_section(DOCS)), encoding="utf-8")
    print(f"wrote {args.output} from {', '.join(sorted(results)) or 'no results'}")
    if args.extraction_doc.exists():
        old = args.extraction_doc.read_text(encoding="utf-8")
        new = with_measured_block(old, results)
        if new != old:
            args.extraction_doc.write_text(new, encoding="utf-8")
            print(f"rewrote the measured block of {args.extraction_doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
