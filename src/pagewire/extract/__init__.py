"""The extraction engine: one module per format behind :mod:`pagewire.extract.base`."""

from __future__ import annotations

from pathlib import Path

from pagewire.extract.base import Document, Engine, ExtractError, ExtractOptions
from pagewire.extract.html import HtmlEngine
from pagewire.extract.image import ImageEngine
from pagewire.extract.office import OfficeEngine
from pagewire.extract.pdf import PdfEngine
from pagewire.extract.sniff import sniff_media_type

_ENGINES: tuple[Engine, ...] = (PdfEngine(), ImageEngine(), OfficeEngine(), HtmlEngine())

SUPPORTED_MEDIA_TYPES: tuple[str, ...] = tuple(t for e in _ENGINES for t in e.media_types)


def open_document(path: Path, media_type: str, options: ExtractOptions) -> Document:
    media_type = media_type.split(";", 1)[0].strip().lower()
    for engine in _ENGINES:
        if media_type in engine.media_types:
            return engine.open(path, media_type, options)
    raise ExtractError(
        "unsupported_media_type",
        f"{media_type} is not supported; supported: {', '.join(SUPPORTED_MEDIA_TYPES)}",
    )


__all__ = [
    "SUPPORTED_MEDIA_TYPES",
    "ExtractError",
    "ExtractOptions",
    "open_document",
    "sniff_media_type",
]
