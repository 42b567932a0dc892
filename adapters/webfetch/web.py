"""The owner's SearXNG and the SSRF-proof fetcher behind :class:`core.tools.web.Web`.

SearXNG is the owner's own service (often on his own network), configured by him: it is
asked directly, with ``format=json``. Pages named by people or search results go through
:class:`adapters.webfetch.fetch.Fetcher`, then trafilatura.
"""

from __future__ import annotations

from typing import Any

import httpx

from adapters.webfetch.addresses import Refused
from adapters.webfetch.extract import readable
from adapters.webfetch.fetch import Fetcher, FetchError
from core.logging import get_logger
from core.tools.web import Hit, Page, WebError

log = get_logger("kith.web")
MAX_HITS = 5


def search_endpoint(url: str) -> str:
    """``http://searx.lan:8888`` → ``http://searx.lan:8888/search`` (kept if given)."""
    url = url.rstrip("/")
    return url if url.endswith("/search") else url + "/search"


def hits(payload: Any, limit: int = MAX_HITS) -> list[Hit]:
    """The results of a SearXNG JSON answer; raises WebError when it is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise WebError("the search engine's answer was not SearXNG JSON")
    found: list[Hit] = []
    for item in payload["results"]:
        if not isinstance(item, dict) or not isinstance(item.get("url"), str):
            continue
        url = item["url"]
        if not url.startswith(("http://", "https://")) or any(h.url == url for h in found):
            continue
        found.append(Hit(str(item.get("title") or ""), url, str(item.get("content") or "")))
        if len(found) == limit:
            break
    return found


class WebAccess:
    def __init__(self, search_url: str, fetcher: Fetcher, *, timeout: float = 10.0,
                 max_hits: int = MAX_HITS) -> None:
        self.endpoint = search_endpoint(search_url)
        self.fetcher = fetcher
        self.max_hits = max_hits
        self._client = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def aclose(self) -> None:
        await self._client.aclose()
        await self.fetcher.aclose()

    async def search(self, query: str) -> list[Hit]:
        try:
            response = await self._client.get(
                self.endpoint, params={"q": query, "format": "json"},
                headers={"Accept": "application/json"})
        except httpx.HTTPError as err:
            log.warning("web_search_failed", error=type(err).__name__)
            raise WebError("the search engine did not answer") from None
        if response.status_code == 403:  # SearXNG without json in search.formats
            raise WebError("the search engine refuses JSON (add json to search.formats "
                           "in its settings.yml)")
        if response.status_code != 200:
            raise WebError(f"the search engine answered HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError:
            raise WebError("the search engine's answer was not JSON") from None
        return hits(payload, self.max_hits)

    async def read(self, url: str) -> Page:
        try:
            fetched = await self.fetcher.get(url)
        except Refused as err:
            log.info("read_page_refused", reason=str(err))
            raise WebError(f"that link is not allowed: {err}") from None
        except FetchError as err:
            raise WebError(str(err)) from None
        title, text = readable(fetched.body, fetched.content_type, fetched.charset, fetched.url)
        return Page(fetched.url, title, text)
