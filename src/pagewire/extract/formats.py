"""The media types pagewire reads, one constant each: what the API accepts, what each engine opens.

Plain strings and nothing else, so that the API can check an upload's type
(with :mod:`pagewire.extract.sniff`) without loading a single engine.
"""

from __future__ import annotations

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HTML = "text/html"

# What each engine opens, in the order ``open_document`` asks them.
PDF_TYPES: tuple[str, ...] = (PDF,)
IMAGE_TYPES: tuple[str, ...] = (PNG, JPEG, TIFF)
OFFICE_TYPES: tuple[str, ...] = (DOCX, PPTX, XLSX)
HTML_TYPES: tuple[str, ...] = (HTML,)

SUPPORTED_MEDIA_TYPES: tuple[str, ...] = PDF_TYPES + IMAGE_TYPES + OFFICE_TYPES + HTML_TYPES
