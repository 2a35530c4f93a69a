"""Superscripts and subscripts: smaller glyphs raised or lowered from their line.

A text layer sets ``10`` and a raised, smaller ``20`` side by side; read as plain text
they say ``1020``, a different number. We mark them the way the result shows them,
``10<sup>20</sup>`` and ``d<sub>k</sub>`` (HTML's inline tags, which markdown
renderers show as such), both inside a word (characters of one word in different
text objects, :func:`mark_runs`) and across words (a footnote mark the PDF spaced off
its word, :func:`mark_row`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from pagewire.extract.words import Word

SMALLER = 0.85  # a script glyph is set at most this share of its line's size
SMALLEST = 0.45  # and at least this share: TeX's scripts are 0.5-0.75 of their base
RAISED = 0.2  # a superscript's bottom sits at least this many ems above the line's
LOWERED = 0.05  # a subscript's bottom sits at least this many ems below it
GLUE = 0.45  # a script word this close (ems) to its base word belongs to it
RADICAL = "\u221a"
MAX_SCRIPT_WORD = 4
TOUCH = 0.1  # ems: a script word this close to its base is glued to it, however long
CLOSING = ".,;:)]}!?\u2019\u201d"  # punctuation that follows a mark with no space
_MARKS = ("</sup>", "</sub>")


@dataclass(slots=True)
class Run:
    """Characters of one word drawn by one text object (one font size, one position)."""

    key: int
    text: str
    size: float
    bottom: float  # the lowest point of its glyph boxes; larger is lower on the page


def script_kind(size: float, bottom: float, base_size: float, base_bottom: float) -> str | None:
    """``sup``, ``sub`` or None for text of ``size`` whose boxes end at ``bottom``, next
    to base text of ``base_size`` ending at ``base_bottom`` (y grows downwards)."""
    if not SMALLEST * base_size <= size < SMALLER * base_size:
        return None  # the line's own size, or far smaller than any script (a signature's scrawl)
    if bottom < base_bottom - RAISED * base_size:
        return "sup"
    if bottom > base_bottom + LOWERED * base_size:
        return "sub"
    return None


def tagged(text: str, kind: str | None) -> str:
    return f"<{kind}>{text}</{kind}>" if kind else text


def mark_runs(runs: list[Run]) -> tuple[str, float]:
    """The word's text with its script runs tagged, and the size of its base text."""
    if not runs:
        return "", 0.0
    base_size = max(r.size for r in runs)
    parts: list[str] = []
    base: Run | None = None
    for i, run in enumerate(runs):
        ref = base or next((r for r in runs[i + 1 :] if r.size >= SMALLER * base_size), None)
        kind = script_kind(run.size, run.bottom, ref.size, ref.bottom) if ref else None
        if kind is None:
            base = run
        parts.append(tagged(run.text, kind))
    return _merge_tags("".join(parts)), base_size


def _merge_tags(text: str) -> str:
    return text.replace("</sup><sup>", "").replace("</sub><sub>", "")


def mark_row(row: list[Word]) -> list[Word]:
    """Tag the row's script words (a footnote mark, a spaced-off exponent) and glue them
    to the word they belong to; glue a radical sign to its radicand. ``row`` is sorted
    left to right; rows with one size and no radical come back as they are."""
    if len(row) < 2:
        return row
    sizes = [w.size for w in row]
    big, small = max(sizes), min(sizes)
    if small >= SMALLER * big and not any(
        w.text == RADICAL or w.text.endswith(_MARKS) for w in row
    ):
        return row
    out: list[Word] = []
    for w in row:
        prev = out[-1] if out else None
        if prev is None:
            out.append(w)
            continue
        gap = w.x0 - prev.x1
        if prev.text.endswith(RADICAL) and gap < GLUE * max(w.size, prev.size):
            out[-1] = _glued(prev, w, w.text)
            continue
        # A script on its own is short: a footnote mark, an exponent, an index; a
        # longer one touches its base ("d" and the "model" under its "-0.5", stacked).
        short = len(w.text) <= MAX_SCRIPT_WORD or gap < TOUCH * prev.size
        script = short and RADICAL not in w.text
        kind = script_kind(w.size, w.y1, prev.size, prev.y1) if script else None
        if kind is not None and "<" not in w.text and gap < GLUE * prev.size:
            out[-1] = _glued(prev, w, tagged(w.text, kind))
            continue
        if prev.text.endswith(_MARKS) and gap < 0.35 * w.size and w.text[0] in CLOSING:
            # "gradients<sup>4</sup>.", "softmax(QK<sup>T</sup>)V": pdfium spaces what
            # follows a script (a mark inside a word included) off it; it belongs to it
            out[-1] = _glued(prev, w, w.text)
            continue
        out.append(w)
    return out


def _glued(base: Word, tail: Word, text: str) -> Word:
    """A new word: the same words are laid out more than once (profile sampling, then
    the page itself), so they are never changed in place."""
    return replace(
        base,
        text=base.text + text,
        x1=max(base.x1, tail.x1),
        y0=min(base.y0, tail.y0),
        hyphen=tail.hyphen,
    )
