"""Media types from a file's first bytes: what the bytes prove, not what the name says."""

from __future__ import annotations

import re

from pagewire.extract.formats import DOCX, HTML, JPEG, PDF, PNG, PPTX, TIFF, XLSX

_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S)


def sniff_media_type(head: bytes) -> str | None:
    """The media type the file's first bytes prove, or None when they prove nothing we read.

    Office files are zips; the local file headers at the start name their parts
    (``word/``, ``ppt/``, ``xl/``), so a few kilobytes of head are enough.
    """
    if head.lstrip(b"\x00\t\r\n ")[:5] == b"%PDF-" or head[:1024].find(b"%PDF-") >= 0:
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    if head.startswith(b"PK\x03\x04"):
        for marker, media_type in ((b"word/", DOCX), (b"ppt/", PPTX), (b"xl/", XLSX)):
            if marker in head:
                return media_type
        return None
    text = head[:4096].removeprefix(b"\xef\xbb\xbf")
    if _HTML.match(text):
        return HTML
    return None
