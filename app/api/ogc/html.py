"""HTML views of the OGC API resources: plain pages with links and tables, every value escaped; error pages."""

from __future__ import annotations

import json
from html import escape
from typing import Any

_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:1.5em;max-width:80em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
    "th{background:#f4f4f4}code{background:#f4f4f4;padding:0 .2em}nav a{margin-right:1em}"
)


def page(title: str, body: str, links: list[dict[str, Any]] | None = None) -> str:
    """A complete HTML page with the resource's links in a navigation bar."""
    nav = "".join(
        f'<a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a>'
        for link in (links or []) if link.get("type", "").startswith(("text/html", "application/json"))
        and link["rel"] not in ("self",)
    )
    return (
        f'<!doctype html><html lang="zh"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><nav>{nav}</nav><h1>{escape(title)}</h1>{body}</body></html>"
    )


def definition_list(items: dict[str, Any]) -> str:
    """Key/value pairs as a table."""
    rows = "".join(f"<tr><th>{escape(str(k))}</th><td>{_cell(v)}</td></tr>" for k, v in items.items())
    return f"<table>{rows}</table>"


def _cell(v: Any) -> str:
    """One table cell: lists and objects as compact JSON, links as anchors."""
    if isinstance(v, str) and v.startswith(("http://", "https://")):
        return f'<a href="{escape(v)}">{escape(v)}</a>'
    if isinstance(v, (dict, list)):
        return f"<code>{escape(json.dumps(v, ensure_ascii=False))}</code>"
    return "" if v is None else escape(str(v))


def links_list(links: list[dict[str, Any]]) -> str:
    """A list of links with their relation and media type."""
    items = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["href"])}</a> '
        f'<small>({escape(link["rel"])}, {escape(link.get("type", ""))})</small></li>'
        for link in links
    )
    return f"<ul>{items}</ul>"


def table(columns: list[str], rows: list[list[Any]], headers: list[str] | None = None) -> str:
    """Rows as an HTML table."""
    head = "".join(f"<th>{escape(h)}</th>" for h in (headers or columns))
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STATUS_TITLES = {400: "请求参数有误 Bad request", 401: "需要登录 Login required", 403: "无权访问 Forbidden",
                  404: "未找到 Not found", 405: "方法不允许 Method not allowed", 422: "无法处理 Unprocessable",
                  500: "服务器错误 Server error", 503: "暂不可用 Unavailable"}


def wants_html(f: str | None, accept: str) -> bool:
    """HTML when asked with ``f=html``, or when a browser prefers it (``Accept``) and no ``f`` is given."""
    if f is not None:
        return f == "html"
    return "text/html" in accept and "json" not in accept.split("text/html")[0]


def error_page(status: int, code: str, detail: str, home: str) -> str:
    """An error of the OGC API as an HTML page: what went wrong, the machine code, and a link to ``home``."""
    title = f"{status} · {_STATUS_TITLES.get(status, code)}"
    body = (f"<p>{escape(detail)}</p><p><small>code: <code>{escape(code)}</code></small></p>"
            f'<p><a href="{escape(home)}">OGC API 首页 (landing page)</a></p>')
    return page(title, body)
