"""The model's Markdown → Telegram's HTML subset (splitting is ``adapters.kit.split_text``).

The renderer walks markdown-it tokens and emits only tags Telegram accepts (b, i, s, code,
pre, a, blockquote), always balanced and escaped, for any input — including a half-streamed
reply.
"""

from __future__ import annotations

import html
import re
from typing import Any

from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
_SAFE_LINK = re.compile(r"^(https?://|tg://|mailto:)", re.IGNORECASE)
_INLINE_TAGS = {"strong": "b", "em": "i", "s": "s"}


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _inline(children: list[Any]) -> str:
    out: list[str] = []
    links: list[bool] = []
    for tok in children:
        kind = tok.type
        if kind == "text":
            out.append(_esc(tok.content))
        elif kind in ("softbreak", "hardbreak"):
            out.append("\n")
        elif kind == "code_inline":
            out.append(f"<code>{_esc(tok.content)}</code>")
        elif kind.endswith("_open") and kind[:-5] in _INLINE_TAGS:
            out.append(f"<{_INLINE_TAGS[kind[:-5]]}>")
        elif kind.endswith("_close") and kind[:-6] in _INLINE_TAGS:
            out.append(f"</{_INLINE_TAGS[kind[:-6]]}>")
        elif kind == "link_open":
            href = str(tok.attrGet("href") or "")
            safe = bool(_SAFE_LINK.match(href))
            links.append(safe)
            if safe:
                out.append(f'<a href="{html.escape(href, quote=True)}">')
        elif kind == "link_close":
            if links and links.pop():
                out.append("</a>")
        elif kind == "image":
            out.append(_esc(tok.content or str(tok.attrGet("src") or "")))
        else:  # html_inline and anything new: shown as text
            out.append(_esc(tok.content))
    return "".join(out)


def _trim(out: list[str]) -> None:
    while out and not out[-1].strip():
        out.pop()
    if out:
        out[-1] = out[-1].rstrip()


def to_html(markdown: str) -> str:
    """Telegram-safe HTML for ``markdown``; never raises, always balanced."""
    out: list[str] = []
    lists: list[int | None] = []  # None: bullets; int: the next number
    for tok in _MD.parse(markdown):
        kind = tok.type
        if kind == "inline":
            out.append(_inline(tok.children or []))
        elif kind == "heading_open":
            out.append("<b>")
        elif kind == "heading_close":
            out.append("</b>\n\n")
        elif kind == "paragraph_close":
            out.append("\n" if tok.hidden else "\n\n")
        elif kind == "bullet_list_open":
            lists.append(None)
        elif kind == "ordered_list_open":
            lists.append(int(str(tok.attrGet("start") or 1)))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            _trim(out)
            out.append("\n" if lists else "\n\n")
        elif kind == "list_item_open":
            out.append(_marker(lists))
        elif kind == "blockquote_open":
            out.append("<blockquote>")
        elif kind == "blockquote_close":
            _trim(out)
            out.append("</blockquote>\n\n")
        elif kind in ("fence", "code_block"):
            out.append(_code(tok.content, tok.info.strip().split(" ")[0]))
        elif kind == "hr":
            out.append("———\n\n")
        elif kind == "html_block":
            out.append(_esc(tok.content) + "\n")
    _trim(out)
    return "".join(out)


def _marker(lists: list[int | None]) -> str:
    if not lists:
        return "• "
    indent = "  " * (len(lists) - 1)
    number = lists[-1]
    if number is None:
        return indent + "• "
    lists[-1] = number + 1
    return f"{indent}{number}. "


def _code(content: str, lang: str) -> str:
    body = _esc(content.rstrip("\n"))
    if lang and re.fullmatch(r"[\w+#-]{1,32}", lang):
        return f'<pre><code class="language-{lang}">{body}</code></pre>\n\n'
    return f"<pre>{body}</pre>\n\n"
