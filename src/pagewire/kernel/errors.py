"""The root of every error pagewire raises on purpose, server and SDK alike.

The server's families (:mod:`pagewire.errors`) and the SDK's (``pagewire.client``)
derive from it, so one ``except PagewireError`` catches either.
"""

from __future__ import annotations

from typing import Any


class PagewireError(Exception):
    code = "internal_error"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"
