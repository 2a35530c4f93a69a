"""What the client commands print: aligned tables with headers for people, JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any


def when(moment: datetime | float | None) -> str:
    """A time as people read it in a table: UTC to the second (``2026-12-06 16:03:05Z``)."""
    if moment is None:
        return "-"
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    return str(value)


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to their widest cell, headers first; the last column is not padded."""
    lines = [list(headers), *([cell(v) for v in row] for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(
            text if i == len(headers) - 1 else text.ljust(widths[i]) for i, text in enumerate(line)
        ).rstrip()
        for line in lines
    )


def fields(pairs: Iterable[tuple[str, object]]) -> str:
    """One record as ``name  value`` lines (``endpoints get``, ``messages get``)."""
    listed = list(pairs)
    width = max((len(name) for name, _ in listed), default=0)
    return "\n".join(f"{name:<{width}}  {cell(value)}" for name, value in listed)


def print_json(value: Any) -> None:
    json.dump(value, sys.stdout, default=str)
    sys.stdout.write("\n")
