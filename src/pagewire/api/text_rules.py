"""Free text and JSON a request may store: what both databases keep and every response can carry.

PostgreSQL refuses a NUL character in text and in JSON, and a lone surrogate
(``"\\ud800"`` in JSON) in JSON; SQLite stores either, after which every response
that shows it fails to encode. JSON also allows ``NaN`` and ``Infinity``, which
PostgreSQL's JSON does not. Values are therefore checked where they come in, and
a bad one is a ``400 invalid_request`` whose ``details.field`` names it
(``metadata.customer.tags[2]``).

The checks raise ``InvalidRequest`` even inside pydantic validators: pydantic wraps
only ``ValueError`` and ``AssertionError``, so it passes through as itself and is
answered as a 400 (a ``ValueError`` would be FastAPI's 422, without the path).
"""

from __future__ import annotations

import math
from typing import Any

from pagewire.errors import InvalidRequest

MAX_JSON_DEPTH = 10  # objects and arrays inside one another, the outermost counted


def check_text(field: str, value: str) -> str:
    """``value`` if it is storable: no NUL, no lone surrogate."""
    problem = _text_problem(value)
    if problem:
        raise InvalidRequest(f"{field} {problem}", details={"field": field})
    return value


def check_json(field: str, value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``value`` if every key and string in it is storable, every number finite, and it
    nests at most ``max_depth`` deep. Walked without recursion, so depth costs no stack."""
    pending: list[tuple[str, Any, int]] = [(field, value, 1)]
    while pending:
        path, item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidRequest(
                    f"{field} nests deeper than {max_depth} levels", details={"field": field}
                )
            if isinstance(item, dict):
                for key, inner in item.items():
                    # A bad key is named by its parent: the key itself may not print.
                    check_text(path, key)
                    pending.append((f"{path}.{key}", inner, depth + 1))
            else:
                pending.extend((f"{path}[{i}]", inner, depth + 1) for i, inner in enumerate(item))
        elif isinstance(item, str):
            check_text(path, item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidRequest(f"{path} is not a finite number", details={"field": path})
    return value


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    return None
