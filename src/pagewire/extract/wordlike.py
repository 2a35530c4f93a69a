"""Does a short text read as words? Telling a heading from an OCR layer's garbage.

A scan's hidden text layer reads handwriting too: initials and signatures come out
as ``dTb``, ``Jl-b`` or ``8 ~: .Dedlon '7a/e£,X'/i;X,``, set large (the scrawl is
tall), so they look like headings by their style. A heading must look like words.
Each of its tokens, stripped of the punctuation around it, is judged by its shape:

- *words*: letters in the shapes words take (``relief``, ``Relief``, ``RELIEF``, a
  hyphenated or possessive compound of them) of four letters or more, capitals of two
  or more (``OF``, ``U.S.C.``, ``JEDS``), an initial or section letter with its stop
  (``A.``, ``v.``), numbers and citations (``1983``, ``2C:12-1(b)(7)``, ``22-09-01413-I``),
  and any token the page's own text uses elsewhere (``GloVe``, ``SQuAD``);
- *neutral*: short words (``of``, ``the``, ``Jib``), lone letters, signs (``§``, ``&``,
  ``-``) and a form's blanks (``______``): they vouch for nothing;
- *garbage*: the rest (``dTb``, ``7b}er,``, ``?)/``).

A text is garbled when its word characters are fewer than its garbage characters,
or when it has no word at all. Only shapes are read (no word list): a heading costs
a few regular-expression matches, and the page's vocabulary is gathered only for a
text that would otherwise be judged garbled.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container

# Punctuation around a word, and the note marks set after a name ("Polosukhin" and its "\u2217")
_BRACKETS = str.maketrans("", "", "()[]")
_EDGE = "\"'\u201c\u201d\u2018\u2019{},.;:!?*\u2217\u2020\u2021"
# Letters in the case shapes of words: lower, Capitalised or CAPITALS, joined by a
# hyphen or an apostrophe ("Defendant's", "post-conviction", "STATE'S", "O'Neill").
_PART = r"(?:[A-Z]?[a-z\u00df-\u00ff]+|[A-Z\u00c0-\u00de]+)"
_WORD = re.compile(rf"^{_PART}(?:['\u2019\-/]{_PART})*$")
_CAPITALS = re.compile(r"^[A-Z](?:[A-Z.&'\u2019\-]*[A-Z])?$")
# Numbers and citations: groups of digits (with a few letters: "2C", "11th", "v1") or
# of letters, joined by stops, colons, slashes, dashes or "=" ("A=16").
_GROUP = r"(?:\d+[A-Za-z]{0,3}|[A-Za-z]{1,4}\d+|[A-Za-z]+)"
_NUMBER = re.compile(rf"^{_GROUP}(?:[.:/,=\-\u2013]{_GROUP})*$")
# An e-mail address or a web address (an author's line, a footer)
_ADDRESS = re.compile(r"^[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+$|^(?:https?://|www\.)\S+$")
# A stop between single letters: "e.g.", "N.J.S.A." (not "De.voa", not "a.ere")
_ABBREVIATION = re.compile(r"^[A-Za-z](?:\.[A-Za-z])+$")
_SCRIPT_TAG = re.compile(r"</?su[bp]>")
_NEUTRAL = re.compile(r"^(?:[_.\-\u2013\u2014\u2026]+|[\u00a7\u00b6&/+=\u00d7\u00b7\u2022]+)$")
MIN_WORD = 4  # letters: a shorter word vouches only if the page uses it elsewhere

Vocabulary = Callable[[], Container[str]]


def garbled(text: str, page_words: Vocabulary | None = None) -> bool:
    """Whether ``text`` fails to read as words; ``page_words`` gives the page's other
    text's lower-cased words (:func:`~pagewire.extract.hyphens.vocabulary`), asked for
    only when the shapes alone would call ``text`` garbled."""
    tokens = _SCRIPT_TAG.sub("", text).split()
    if _verdict(tokens, None):
        return False
    return page_words is None or not _verdict(tokens, page_words())


def _verdict(tokens: list[str], words: Container[str] | None) -> bool:
    """True when the tokens read as words (see the module's docstring)."""
    known = garbage = 0
    for token in tokens:
        kind = _kind(token, words)
        if kind > 0:
            known += kind
        elif kind < 0:
            garbage -= kind
    return known > 0 and known >= garbage


def _kind(token: str, words: Container[str] | None) -> int:
    """The token's weight in characters: positive for a word, negative for garbage,
    0 for a neutral token."""
    core = _core(token)
    if not core or _NEUTRAL.match(core):
        return 0
    if len(core) == 1 and core.isalpha():
        # "A", "B." (a section's number) or "v." (versus): a lone "b" or "S" says nothing
        return 1 if core.isupper() or token.endswith(".") else 0
    if words is not None and core.lower() in words:
        return len(core)
    if any(c.isdigit() for c in core):
        return len(core) if _NUMBER.match(core) else -len(token)
    if _ADDRESS.match(core):
        return len(core)
    if _CAPITALS.match(core) or _ABBREVIATION.match(core):
        return len(core)
    if _WORD.match(core):
        return len(core) if sum(c.isalpha() for c in core) >= MIN_WORD else 0
    return -len(token)


def _core(token: str) -> str:
    """The token without the punctuation around it, and without its parentheses: a
    citation's "(b)(7)" reads as its letters and numbers ("2C:12-1b7")."""
    return token.translate(_BRACKETS).strip(_EDGE)
