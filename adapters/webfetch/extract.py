"""A page's readable text and title: trafilatura for HTML, the text itself otherwise."""

from __future__ import annotations

import re

import trafilatura

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset name
        return body.decode("utf-8", errors="replace")


def readable(body: bytes, content_type: str, charset: str | None, url: str) -> tuple[str, str]:
    """``(title, text)``: the main text without navigation, scripts and boilerplate."""
    if content_type not in ("text/html", "application/xhtml+xml"):
        return "", _decode(body, charset)
    html = _decode(body, charset)
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True,
                                      include_comments=False, include_tables=True)
    title = ""
    text = ""
    if doc is not None:
        data = doc if isinstance(doc, dict) else doc.as_dict()
        title = str(data.get("title") or "")
        text = str(data.get("text") or "")
    if not title and (match := _TITLE.search(body)):
        title = _decode(match.group(1), charset)
    return " ".join(title.split()), text
