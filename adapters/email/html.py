"""HTML mail bodies to plain text, without the parts a reader would never see.

Hidden elements (``display:none``, ``visibility:hidden``, zero font size or opacity, the
``hidden`` attribute, ``<script>``/``<style>``/``<head>``) are a classic place for prompt
injections aimed at assistants: they are dropped before html2text renders the rest.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import html2text

_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(\.0*)?(px|pt|em|%)?\s*(;|$)|"
    r"opacity\s*:\s*0(\.0*)?\s*(;|$)|max-height\s*:\s*0(px)?\s*(;|$)",
    re.I,
)
_ALWAYS_HIDDEN = {"script", "style", "head", "title", "template", "noscript"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}
MAX_HTML = 2_000_000


class _Visible(HTMLParser):
    """Re-emits the HTML it is fed, minus hidden subtrees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._hidden: list[str] = []  # open tags of the hidden subtree we are in

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if not self._hidden:
                self.out.append(self.get_starttag_text() or "")
            return
        if self._hidden:
            self._hidden.append(tag)
            return
        values = dict(attrs)
        if (tag in _ALWAYS_HIDDEN or "hidden" in values
                or _HIDDEN_STYLE.search(values.get("style") or "")
                or (values.get("aria-hidden") or "").lower() == "true"):
            self._hidden.append(tag)
            return
        self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self._hidden:
            if tag in self._hidden:
                while self._hidden and self._hidden.pop() != tag:
                    pass
            return
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.out.append(html.escape(data, quote=False))


def visible_html(source: str) -> str:
    parser = _Visible()
    try:
        parser.feed(source[:MAX_HTML])
        parser.close()
    except Exception:  # HTMLParser is lenient; this is a last resort
        return html.escape(re.sub(r"<[^>]*>", " ", source[:MAX_HTML]), quote=False)
    return "".join(parser.out)


def html_to_text(source: str) -> str:
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_links = True
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_tables = True
    converter.unicode_snob = True
    try:
        text = converter.handle(visible_html(source))
    except Exception:
        text = re.sub(r"<[^>]*>", " ", source)
    lines = [_ESCAPED.sub(r"\1", line.rstrip()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_ESCAPED = re.compile(r"^(\s*)\\(?=[-*+#>_.])")
