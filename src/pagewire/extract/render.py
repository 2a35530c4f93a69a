"""Blocks -> markdown and HTML. The only place that knows either syntax."""

from __future__ import annotations

import html
import re

from pagewire.extract.base import Block, Table

_MD_LEADING = re.compile(r"^(#{1,6}\s|[-*+]\s|\d{1,9}[.)]\s|>)")
# The only markup block text carries: super- and subscripts (extract/scripts.py).
_SCRIPT_TAG = re.compile(r"&lt;(/?)(sup|sub)&gt;")


def inline_html(text: str) -> str:
    """Escaped text with its ``<sup>``/``<sub>`` marks kept as tags."""
    return _SCRIPT_TAG.sub(r"<\1\2>", html.escape(text))


def heading_md(text: str, level: int) -> str:
    return f"{'#' * max(1, min(level, 6))} {text}"


def list_item_md(text: str, marker: str | None) -> str:
    if marker and re.fullmatch(r"\d{1,9}[.)]", marker):
        return f"{marker[:-1]}. {text}"
    if marker and marker not in "•●◦▪■□‣\u2043∙·-\u2013*\uf0b7\uf0a7":
        return f"- {marker} {text}"
    return f"- {text}"


def paragraph_md(text: str) -> str:
    # A paragraph that happens to start like markdown syntax must stay a paragraph.
    return "\\" + text if _MD_LEADING.match(text) else text


def page_markdown(blocks: tuple[Block, ...] | list[Block]) -> str:
    # Consecutive list items form one markdown list (no blank line between them).
    parts: list[str] = []
    prev_kind = ""
    for b in blocks:
        if b.kind == "list_item" and prev_kind == "list_item" and parts:
            parts[-1] = parts[-1] + "\n" + b.markdown
        elif b.markdown:
            parts.append(b.markdown)
        prev_kind = b.kind
    return "\n\n".join(parts)


def blocks_html(blocks: tuple[Block, ...] | list[Block], tables: tuple[Table, ...]) -> str:
    out: list[str] = []
    open_list: str | None = None
    table_iter = iter(tables)
    for b in blocks:
        tag = "ol" if b.kind == "list_item" and re.match(r"^\s*\d", b.markdown) else "ul"
        if b.kind == "list_item":
            if open_list != tag:
                if open_list:
                    out.append(f"</{open_list}>")
                out.append(f"<{tag}>")
                open_list = tag
            out.append(f"<li>{inline_html(b.text)}</li>")
            continue
        if open_list:
            out.append(f"</{open_list}>")
            open_list = None
        text = inline_html(b.text)
        if b.kind == "heading":
            level = b.level or 1
            out.append(f"<h{level}>{text}</h{level}>")
        elif b.kind == "table":
            table = next(table_iter, None)
            out.append(table_html(table.rows) if table else f"<p>{text}</p>")
        elif b.kind == "figure":
            label = html.escape(b.alt or "", quote=True)
            caption = f"<figcaption>{text}</figcaption>" if b.text else ""
            out.append(f'<figure aria-label="{label}">{caption}</figure>')
        elif b.kind == "caption":
            out.append(f'<p class="caption">{text}</p>')
        elif b.kind == "footnote":
            out.append(f'<aside class="footnote">{text}</aside>')
        else:
            out.append(f"<p>{text}</p>")
    if open_list:
        out.append(f"</{open_list}>")
    return "\n".join(out)


def table_html(rows: tuple[tuple[str, ...], ...]) -> str:
    if not rows:
        return "<table></table>"
    head = "".join(f"<th>{inline_html(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in r) + "</tr>" for r in rows[1:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
