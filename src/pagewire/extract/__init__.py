"""The extraction engine: one module per format behind :mod:`pagewire.extract.base`."""

from __future__ import annotations

from pathlib import Path

from pagewire.extract.base import Document, ExtractError, ExtractOptions
from pagewire.extract.pdf import PdfEngine

_ENGINES = (PdfEngine(),)

SUPPORTED_MEDIA_TYPES: tuple[str, ...] = tuple(t for e in _ENGINES for t in e.media_types)


def sniff_media_type(head: bytes) -> str | None:
    """The media type the file's first bytes prove, or None when they prove nothing we read."""
    if head.lstrip(b"\x00\t\r\n ")[:5] == b"%PDF-" or head[:1024].find(b"%PDF-") >= 0:
        return "application/pdf"
    return None


def open_document(path: Path, media_type: str, options: ExtractOptions) -> Document:
    for engine in _ENGINES:
        if media_type in engine.media_types:
            return engine.open(path, media_type, options)
    raise ExtractError(
        "unsupported_media_type",
        f"{media_type} is not supported; supported: {', '.join(SUPPORTED_MEDIA_TYPES)}",
    )


__all__ = ["SUPPORTED_MEDIA_TYPES", "ExtractError", "ExtractOptions", "open_document", "sniff_media_type"]
