"""Reply text → Matrix message content: Markdown as sanitized ``formatted_body`` HTML, a plain
``body``, edits as ``m.replace`` (pure functions; splitting is ``adapters.kit.split_text``)."""

from __future__ import annotations

from typing import Any

import nh3
from markdown_it import MarkdownIt

from core.ids import PlatformMessageId

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True}).enable(
    "strikethrough").enable("table")

# The subset the Matrix spec recommends for formatted_body.
_TAGS = {"font", "del", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "p", "a", "ul", "ol",
         "sup", "sub", "li", "b", "i", "u", "strong", "em", "strike", "code", "hr", "br", "div",
         "table", "thead", "tbody", "tr", "th", "td", "caption", "pre", "span", "s", "details",
         "summary"}
_ATTRS = {"a": {"href"}, "code": {"class"}, "ol": {"start"}}


def to_html(markdown: str) -> str:
    html = _md.render(markdown)
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRS, url_schemes={"https", "http", "mailto",
                                                                        "matrix"},
                     link_rel=None).strip()


def message_content(text: str, *, notice: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {"msgtype": "m.notice" if notice else "m.text", "body": text,
                               "m.mentions": {}}
    html = to_html(text)
    if html and html != f"<p>{_escape(text)}</p>":
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
    return content


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")


def with_relation(content: dict[str, Any], *, reply_to: PlatformMessageId | None,
                  thread: str | None) -> dict[str, Any]:
    """Place a message in a thread (falling back to a reply) or as a reply."""
    if thread:
        relates: dict[str, Any] = {"rel_type": "m.thread", "event_id": thread,
                                   "is_falling_back": True}
        if reply_to:
            relates["m.in_reply_to"] = {"event_id": reply_to}
        return {**content, "m.relates_to": relates}
    if reply_to:
        return {**content, "m.relates_to": {"m.in_reply_to": {"event_id": reply_to}}}
    return content


def edit_content(original_id: PlatformMessageId, text: str) -> dict[str, Any]:
    new = message_content(text)
    edit = {**new, "body": "* " + new["body"],
            "m.new_content": new,
            "m.relates_to": {"rel_type": "m.replace", "event_id": original_id}}
    if "formatted_body" in new:
        edit["formatted_body"] = "* " + new["formatted_body"]
    return edit
