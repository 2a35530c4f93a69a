"""Score any engine's markdown against :mod:`expectations`: the fraction met.

Every engine is judged from its markdown alone, by the same normalisation: emphasis
marks dropped, whitespace collapsed, super/subscripts spelled ``^x`` / ``_x`` whether
written ``<sup>x</sup>``, ``^x`` or ``^{x}``.
"""

from __future__ import annotations

import re

from expectations import Expect

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
_BLOCK_BREAK = re.compile(r"\n[ \t]*\n")  # a blank line ends a paragraph
_HEADING_MARK = re.compile(r"^\s*#{1,6}\s+")
_SCRIPT = re.compile(r"<(sup|sub)>(.*?)</\1>")


def clean(text: str) -> str:
    text = _SCRIPT.sub(lambda m: ("^" if m.group(1) == "sup" else "_") + m.group(2), text)
    text = re.sub(r"\^\{([^}]*)\}", r"^\1", text)
    text = re.sub(r"[*`]+|(?<!\w)_(?=\w)(?=[^_]*_\W)|\\(?=[\[\]#.-])", "", text)
    return re.sub(r"\s+", " ", text).strip()


def _rows(md: str) -> list[list[str]]:
    rows = []
    for line in md.splitlines():
        line = line.strip()
        if line.startswith("|") and line.endswith("|") and not re.fullmatch(r"\|[\s:|-]+\|", line):
            rows.append([clean(c) for c in line.strip("|").split("|")])
    return rows


def outcomes(md: str, expect: Expect) -> dict[str, bool]:
    """Each expectation (named as in ``known_misses``) and whether ``md`` meets it."""
    text = clean(md)
    headings = {(len(m.group(1)), clean(m.group(2))) for m in _HEADING.finditer(md)}
    rows = [[c for c in r if c] for r in _rows(md)]
    met: dict[str, bool] = {}
    for h in expect.headings:
        met[str(h)] = h in headings
    for row in expect.rows:
        want = [clean(c) for c in row]
        met[" | ".join(row)] = any(_in_order(want, r) for r in rows)
    for s in expect.sentences:
        met[s] = clean(s) in text
    for a in expect.absent:
        met[a] = a not in md and clean(a) not in text
    for n in expect.not_headings:
        met[f"no heading holds {n}"] = not any(clean(n) in h for _, h in headings)
    blocks = [clean(_HEADING_MARK.sub("", b)) for b in _BLOCK_BREAK.split(md)]
    for p in expect.paragraphs:
        if p.endswith("\u2026"):
            opening = clean(p[:-1])
            met[p] = any(b.startswith(opening) for b in blocks)
        else:
            met[p] = clean(p) in blocks
    return met


def _in_order(want: list[str], row: list[str]) -> bool:
    it = iter(row)
    return all(any(cell == w for cell in it) for w in want)


def score(md: str, expect: Expect) -> float:
    met = outcomes(md, expect)
    return sum(met.values()) / len(met) if met else 1.0
