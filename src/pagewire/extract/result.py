"""Assemble extracted pages into a job's result document (shape: docs/extraction.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pagewire.extract.base import ExtractOptions, Page, page_dict
from pagewire.extract.chunking import chunk
from pagewire.extract.pagejoin import document_markdown
from pagewire.extract.render import blocks_html


def assemble(pages: Iterable[Page], options: ExtractOptions) -> dict[str, Any]:
    page_list = list(pages)
    markdown = document_markdown(page_list)
    warnings = [f"page {p.number}: {w}" for p in page_list for w in p.warnings]
    result: dict[str, Any] = {
        "markdown": markdown,
        "page_count": len(page_list),
        "pages": [page_dict(p) for p in page_list],
        "warnings": warnings,
    }
    if options.chunking:
        result["chunks"] = chunk(page_list, options.chunking, options.chunk_size)
    if options.return_html:
        page_html = [blocks_html(p.blocks, p.tables) for p in page_list]
        for d, h in zip(result["pages"], page_html, strict=True):
            d["html"] = h
        result["html"] = "\n".join(
            f'<section class="page" data-page="{p.number}">\n{h}\n</section>'
            for p, h in zip(page_list, page_html, strict=True)
        )
    return result
