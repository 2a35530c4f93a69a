"""Tables' headers printed over several rows, and row-group labels.

Papers set a group label over the columns it covers (``BLEU`` centred over ``EN-DE``
and ``EN-FR``) and a label beside the rows it covers (Table 3's ``(A)``, vertically
centred on its rows). Read row by row, the label is a row of its own and the header
is three. A reader means one header row (``BLEU EN-DE``, ``BLEU EN-FR``) and rows that
each carry their group's label: that is what these functions make of them.
"""

from __future__ import annotations

import re

MAX_HEADER_ROWS = 3
# "25.8", "1.0 · 10^20", "(3)", "-0.5%", "\u00d710^6": figures, not words
_NUMBER = re.compile(
    r"^[-+\u2212~<>\u00b1\u00d7x\u00b7.,%\s\d()\[\]]*\d[-+\u2212\s\d.,%\u00b7\u00d7()\[\]]*$"
)
_TAGS = re.compile(r"</?su[pb]>")
_GROUP_LABEL = re.compile(r"^\((?:[A-Z]|[ivx]{1,4}|\d{1,2})\)$")


def is_number(cell: str) -> bool:
    return bool(_NUMBER.match(_TAGS.sub("", cell)))


def _is_data(row: list[str]) -> bool:
    filled = [c for c in row if c]
    return bool(filled) and sum(is_number(c) for c in filled) * 2 >= len(filled)


def merge_header_rows(rows: list[list[str]], reach: list[list[tuple[int, int]]]) -> list[list[str]]:
    """Fold the header rows above the first numeric row into one.

    ``reach[r][k]`` is the first and last column the cell ``rows[r][k]`` covers on the
    page (``(k, k)`` for an ordinary cell): a group label above the last header row is
    repeated over the empty cells it covers, then each column's header is its labels top
    to bottom. Only tables with numeric data qualify: in a table of words the "header"
    cannot be told from the data.
    """
    first_data = next((i for i, r in enumerate(rows) if _is_data(r)), None)
    if first_data is None or not 2 <= first_data <= MAX_HEADER_ROWS:
        return rows
    if len(rows) - first_data < 2:
        return rows
    head = rows[:first_data]
    width = len(rows[0])
    if all(all(head_row) for head_row in head):
        return rows  # every header row full: rows of their own (a units row, say)
    spread: list[list[str]] = []
    for r, row in enumerate(head):
        out = list(row)
        for k, cell in enumerate(row):
            if not cell or r == len(head) - 1:
                continue  # the last header row holds the columns' own labels
            start, end = reach[r][k]
            for j in range(max(start, 0), min(end, width - 1) + 1):
                if not row[j]:
                    out[j] = cell
        spread.append(out)
    merged = [" ".join(c for c in (h[k] for h in spread) if c) for k in range(width)]
    return [merged, *rows[first_data:]]


def attach_group_labels(rows: list[list[str]]) -> list[list[str]]:
    """Give every row of a group its label, printed once beside the group's middle.

    A label row (``(A)`` alone, or ``(C)`` on the group's middle data row) takes the
    rows above and below it whose first cell is empty, as many on each side as both
    sides have (the label is centred), never a row another label took."""
    labels = [i for i, r in enumerate(rows) if i > 0 and _GROUP_LABEL.match(r[0]) and len(r) > 2]
    if not labels:
        return rows
    taken: set[int] = set(labels)
    label_of: dict[int, str] = {}
    alone: set[int] = set()
    for i in labels:
        text = rows[i][0]
        if not any(rows[i][1:]):
            alone.add(i)
        up = _free_run(rows, i, -1, taken)
        down = _free_run(rows, i, 1, taken)
        k = min(len(up), len(down))
        if i in alone and k == 0:
            continue  # nothing to attach to symmetrically: leave it as printed
        for j in up[:k] + down[:k]:
            label_of[j] = text
            taken.add(j)
    if not label_of:
        return rows
    out = []
    for i, r in enumerate(rows):
        if i in alone and any(label_of.get(j) == r[0] for j in label_of):
            continue
        out.append([label_of[i], *r[1:]] if i in label_of else r)
    return out


def _free_run(rows: list[list[str]], start: int, step: int, taken: set[int]) -> list[int]:
    run = []
    j = start + step
    while 0 < j < len(rows) and not rows[j][0] and j not in taken and any(rows[j]):
        run.append(j)
        j += step
    return run
