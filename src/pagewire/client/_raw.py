"""Typed results that also read as the JSON they came from: ``event["type"]``, ``page.get("ocr")``.

Code written for the ``svix`` and ``standardwebhooks`` libraries (which return the
parsed payload) or against the API's plain JSON keeps working on the typed
objects, read-only: the mapping is the ``raw`` dict, which never changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["RawMapping"]


class RawMapping(Mapping[str, Any]):
    """Mix into a frozen dataclass with a ``raw: dict[str, Any]`` field."""

    raw: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)
