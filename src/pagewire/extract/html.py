"""HTML through BeautifulSoup + lxml (both permissive): one page of blocks in document order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pagewire.extract.base import ExtractError, ExtractOptions, Page
from pagewire.extract.flow import PageBuilder
from pagewire.extract.formats import HTML_TYPES

MAX_HTML_BYTES = 50 * 1024 * 1024
_SKIP = {"script", "style", "noscript", "template", "head", "svg", "nav", "footer"}
_BLOCKS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "table", "pre", "blockquote", "dt", "dd"}


class HtmlDocument:
    page_count = 1

    def __init__(self, path: Path) -> None:
        size = path.stat().st_size
        if size == 0:
            raise ExtractError("empty_file", "the file is empty")
        if size > MAX_HTML_BYTES:
            raise ExtractError("invalid_document", "the HTML file is too large to parse")
        self._path = path

    def read_page(self, number: int) -> Page:
        from bs4 import BeautifulSoup

        if number != 1:
            raise ExtractError(
                "page_out_of_range", f"page {number} was asked for but the document has 1 page"
            )
        soup = BeautifulSoup(self._path.read_bytes(), "lxml")
        for br in soup.find_all("br"):
            br.replace_with("\n")
        page = PageBuilder(1)
        root = soup.body or soup
        _walk(root, page)
        return page.build()

    def close(self) -> None:
        pass


def _walk(node: Any, page: PageBuilder) -> None:
    from bs4.element import NavigableString, Tag

    loose: list[str] = []
    for child in node.children:
        if isinstance(child, NavigableString):
            if child.strip() and type(child) is NavigableString:
                loose.append(str(child))
            continue
        if not isinstance(child, Tag) or child.name in _SKIP:
            continue
        name = child.name
        if name in _BLOCKS or _has_block(child):
            if loose:
                page.paragraph("".join(loose))
                loose = []
        if name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            page.heading(child.get_text(), int(name[1]))
        elif name == "li":
            depth = len(child.find_parents(["ul", "ol"])) - 1
            numbered = child.parent is not None and child.parent.name == "ol"
            page.list_item(_own_text(child), depth=max(depth, 0), numbered=numbered)
            for sub in child.find_all(["ul", "ol"], recursive=False):
                _walk(sub, page)
        elif name == "table":
            rows = [
                [c.get_text(" ") for c in tr.find_all(["td", "th"])] for tr in child.find_all("tr")
            ]
            page.table(rows)
        elif name in ("p", "pre", "blockquote", "dt", "dd") and not _has_block(child):
            page.paragraph(child.get_text())
        elif _has_block(child):
            _walk(child, page)
        else:
            loose.append(child.get_text())
    if loose:
        page.paragraph("".join(loose))


def _own_text(li: Any) -> str:
    parts = []
    for child in li.children:
        if getattr(child, "name", None) in ("ul", "ol"):
            continue
        parts.append(child.get_text() if hasattr(child, "get_text") else str(child))
    return "".join(parts)


def _has_block(tag: Any) -> bool:
    return tag.find(list(_BLOCKS | {"ul", "ol", "div", "section", "article"})) is not None


class HtmlEngine:
    media_types = HTML_TYPES

    def open(self, path: Path, media_type: str, options: ExtractOptions) -> HtmlDocument:
        return HtmlDocument(path)
