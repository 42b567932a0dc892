"""Markdown links as plain text, for channels that render no Markdown (WhatsApp, email):
``[title](https://…)`` becomes ``title (https://…)``, a bare ``[url](url)`` the URL alone.
Pure; anything that is not a well-formed http(s) link is left as written."""

from __future__ import annotations

import re

_LINK = re.compile(r"\[([^\[\]\n]{1,300})\]\((https?://[^\s()<>]{1,2000})\)")


def _plain(match: re.Match[str]) -> str:
    title, url = match[1].strip(), match[2]
    if not title or title.rstrip("/") == url.rstrip("/"):
        return url
    return f"{title} ({url})"


def plain_links(text: str) -> str:
    return _LINK.sub(_plain, text)
