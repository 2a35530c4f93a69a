"""Words with boxes and font data: the one shape every page source feeds the layout.

The PDF text layer, tesseract's output and (trivially) other formats all become a
list of :class:`Word`; everything after that (lines, columns, blocks, tables)
is format-blind.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Word:
    text: str
    x0: float  # PDF points, origin top-left, y grows downwards
    y0: float
    x1: float
    y1: float
    size: float  # effective font size in points (after the text matrix)
    bold: bool = False
    italic: bool = False
    hyphen: bool = False  # a line-end hyphen the PDF marks as soft: join with the next word
    seq: int = 0  # order in the source (content-stream order for PDFs)

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def mid_y(self) -> float:
        return (self.y0 + self.y1) / 2
