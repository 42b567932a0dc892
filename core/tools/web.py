"""Web tools: ``web_search`` over the owner's search engine and ``read_page`` for one link.

Both are read-only, and what they return is the web's words, not the person's: every
result is :data:`Origin.WEB` (see :mod:`core.provenance`), so the rest of the turn cannot
act without the person's approval. The I/O lives behind :class:`Web` (the adapter is
``adapters.webfetch``); these handlers only shape what the model reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from core.provenance import Origin
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who

PAGE_CHARS = 6000  # of a page's text the model reads (about 1,500 tokens)
SNIPPET_CHARS = 300


class WebError(Exception):
    """A search or a page failed; the message can be told to the person as is."""


@dataclass(frozen=True, slots=True)
class Hit:
    title: str
    url: str
    snippet: str


@dataclass(frozen=True, slots=True)
class Page:
    url: str  # the final URL, after redirects
    title: str
    text: str


class Web(Protocol):
    async def search(self, query: str) -> list[Hit]: ...

    async def read(self, url: str) -> Page: ...


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=300)


class ReadArgs(BaseModel):
    url: str = Field(min_length=4, max_length=2000)


def _line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def search_text(query: str, hits: list[Hit]) -> str:
    if not hits:
        return f"No web results for {query!r}."
    lines = [f"Web results for {query!r}:"]
    for n, hit in enumerate(hits, 1):
        lines.append(f"[{n}] {_line(hit.title, 120) or hit.url}\n    {hit.url}")
        if hit.snippet:
            lines.append(f"    {_line(hit.snippet, SNIPPET_CHARS)}")
    return "\n".join(lines)


def page_text(page: Page, limit: int = PAGE_CHARS) -> str:
    body = page.text.strip()
    if len(body) > limit:
        body = body[:limit].rsplit(" ", 1)[0] + " […]"
    return (f"Title: {_line(page.title, 200) or '(none)'}\nURL: {page.url}\n\n"
            f"{body or '(no readable text on this page)'}")


def tools(web: Web) -> tuple[Tool, Tool]:
    """``web_search`` and ``read_page`` bound to ``web``."""

    async def web_search(ctx: ToolContext, args: SearchArgs) -> ToolResult:
        try:
            hits = await web.search(args.query)
        except WebError as err:
            raise ToolError(f"the search failed: {err}") from None
        return ToolResult(search_text(args.query, hits), origin=Origin.WEB)

    async def read_page(ctx: ToolContext, args: ReadArgs) -> ToolResult:
        try:
            page = await web.read(args.url.strip())
        except WebError as err:
            raise ToolError(f"cannot read that page: {err}") from None
        return ToolResult(page_text(page), origin=Origin.WEB)

    cite = " Cite pages you use as [title](url)."
    return (
        Tool("web_search", "Search the web for current information." + cite, SearchArgs,
             web_search, Policy(Who.ALLOWED, side_effects=False)),
        Tool("read_page", "Read a web page (a link) as text." + cite, ReadArgs, read_page,
             Policy(Who.ALLOWED, side_effects=False)),
    )


NAMES = ("web_search", "read_page")
