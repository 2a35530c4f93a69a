"""Structure scores of any engine's markdown against the generated ground truth.

Every engine is scored from its markdown alone, by the same rules, so the numbers
compare: what a reader (or an LLM) downstream actually receives.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "extract"))

import itertools

from groundtruth import Truth

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)


def _clean(text: str) -> str:
    text = re.sub(r"[*_`]+", "", text)  # bold/italic/code marks around words
    return re.sub(r"\s+", " ", text).strip()


def _table_rows(md: str) -> list[list[str]]:
    rows = []
    for line in md.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|") and not re.fullmatch(r"\|[\s:|-]+\|", line):
            rows.append([_clean(c) for c in line.strip("|").split("|")])
    return rows


def score(md: str, truth: Truth) -> dict[str, float]:
    clean = _clean(md)
    headings = {(len(m.group(1)), _clean(m.group(2))) for m in _HEADING.finditer(md)}
    heading_texts = {t for _, t in headings}
    scores: dict[str, float] = {}
    scores["headings"] = sum(h[1] in heading_texts for h in truth.headings) / len(truth.headings)
    scores["heading_levels"] = sum(h in headings for h in truth.headings) / len(truth.headings)

    items = [_clean(m.group(1)) for m in re.finditer(r"^\s*(?:[-*+]|\d+[.)])\s+(.+)$", md, re.M)]
    wanted = truth.bullets + truth.numbered
    scores["lists"] = sum(any(w == i or i.endswith(w) for i in items) for w in wanted) / len(wanted)

    rows = [[c for c in r if c] for r in _table_rows(md)]
    truth_rows = [r for t in truth.tables for r in t]
    scores["table_cells"] = sum(r in rows for r in truth_rows) / len(truth_rows)

    order = [clean.find(s) for s in truth.left + truth.right]
    found = [p for p in order if p >= 0]
    in_order = sum(1 for a, b in itertools.pairwise(found) if a < b)
    scores["reading_order"] = in_order / (len(order) - 1) if found else 0.0

    hyph_ok = [re.search(rf"\b{w}\b", clean) is not None for w in truth.dehyphenated]
    hyph_ok += [w in clean for w in truth.kept_hyphen]
    scores["dehyphenation"] = sum(hyph_ok) / len(hyph_ok)

    scores["captions"] = sum(c in clean for c in truth.captions) / len(truth.captions)

    leaks = sum(clean.count(f) for f in truth.furniture)
    scores["furniture_out"] = max(0.0, 1 - leaks / (len(truth.furniture) * truth.pages))

    lower = clean.lower()
    scores["ocr_words"] = sum(w in lower for w in truth.ocr_words) / len(truth.ocr_words)
    return scores


def fidelity(run_engine: object, engines: list[str], corpus: Path) -> dict[str, dict[str, float]]:
    """Per corpus document and engine, the share of tests/fidelity/expectations.py met.

    ``run_engine(engine, pdf, out)`` writes the engine's markdown to ``out``."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "fidelity"))
    import tempfile

    from expectations import EXPECTATIONS
    from scoring import score as fidelity_score

    out = Path(tempfile.mkdtemp(prefix="pagewire-fidelity-")) / "out.md"
    table: dict[str, dict[str, float]] = {}
    for name, expect in sorted(EXPECTATIONS.items()):
        pdf = corpus / name
        if not pdf.exists():
            continue
        for engine in engines:
            result = run_engine(engine, pdf, out)  # type: ignore[operator]
            ok = "error" not in result and out.exists()
            table.setdefault(name, {})[engine] = (
                fidelity_score(out.read_text(), expect) if ok else 0.0
            )
            out.unlink(missing_ok=True)
    return table
