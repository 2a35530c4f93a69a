"""The extraction engine: one module per format behind :mod:`pagewire.extract.base`.

Importing this package loads no engine (pypdfium2, Pillow, python-docx...): the
API imports it to sniff uploads (:mod:`~pagewire.extract.sniff`,
:mod:`~pagewire.extract.formats`); the engines load on the first
``open_document``, in the worker's extractor child.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pagewire.extract.base import Document, Engine, ExtractError, ExtractOptions
from pagewire.extract.formats import SUPPORTED_MEDIA_TYPES
from pagewire.extract.sniff import sniff_media_type


@functools.cache
def load_engines() -> tuple[Engine, ...]:
    """Every engine, in the order ``open_document`` asks them (imported on first call)."""
    from pagewire.extract.html import HtmlEngine
    from pagewire.extract.image import ImageEngine
    from pagewire.extract.office import OfficeEngine
    from pagewire.extract.pdf import PdfEngine

    return (PdfEngine(), ImageEngine(), OfficeEngine(), HtmlEngine())


def open_document(path: Path, media_type: str, options: ExtractOptions) -> Document:
    media_type = media_type.split(";", 1)[0].strip().lower()
    for engine in load_engines():
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
    "load_engines",
    "open_document",
    "sniff_media_type",
]
