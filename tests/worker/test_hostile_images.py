"""Images that are small on disk and enormous in memory fail as bad documents, not crashes."""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pagewire.extract.ocr import tesseract_available
from support import Backend


@pytest.fixture
def backend(tmp_path: Path) -> Backend:
    """SQLite only: what the engine makes of a file does not depend on the database."""
    return Backend("sqlite", f"sqlite:///{tmp_path / 'pagewire.db'}")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _blank_rows(width: int, height: int) -> Iterator[bytes]:
    row = b"\0" * (1 + (width + 7) // 8)  # filter byte, then 1-bit pixels
    for _ in range(height):
        yield row


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A blank 1-bit PNG, written row by row: never a whole image in this process."""
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for row in _blank_rows(width, height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "side",
    [
        pytest.param(30_000, id="past-twice-pillows-limit"),
        pytest.param(10_000, id="where-pillow-only-warns"),
    ],
)
async def test_a_decompression_bomb_png_fails_as_an_invalid_document(
    harness: Any, side: int
) -> None:
    bomb = png_bomb(side, side)
    assert len(bomb) < 1024 * 1024  # small as sent; hundreds of millions of pixels opened
    async with harness.worker():
        job = await harness.finished(await harness.submit(bomb, name="bomb.png"), timeout=60)

    assert job["status"] == "failed", job
    assert job["error"]["code"] == "invalid_document", job["error"]
    assert "too large" in job["error"]["message"] and "pixels" in job["error"]["message"]


def huge_page_pdf() -> bytes:
    """One page 200 inches square with a speck on it: 50,000 pixels a side at OCR's DPI."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(14_400, 14_400))
    pdf.rect(7_000, 7_000, 20, 20, fill=1)
    pdf.showPage()
    pdf.save()
    return out.getvalue()


@pytest.mark.skipif(not tesseract_available(), reason="tesseract is not installed")
async def test_a_pdf_page_too_large_to_render_is_still_read_at_a_lower_resolution(
    harness: Any,
) -> None:
    async with harness.worker():
        job_id = await harness.submit(huge_page_pdf(), name="poster.pdf", ocr="force")
        job = await harness.finished(job_id, timeout=60)

    assert job["status"] == "completed", job
    [page] = job["result"]["pages"]
    assert not [w for w in page["warnings"] if w.startswith("ocr_failed")], page["warnings"]
