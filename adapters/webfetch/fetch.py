"""Fetch a web page without letting the link reach inside the owner's network.

Each hop is vetted before a byte is sent: the URL is parsed (:mod:`.addresses`), its host
resolved **once**, every resolved address checked, and the connection made to that vetted
address — the request's URL carries the IP, while the ``Host`` header and the TLS server
name (httpcore's ``sni_hostname``) carry the name, so certificates are still verified for
the name and no second lookup can rebind it. Redirects are followed by hand, each one
vetted the same way, at most :data:`MAX_REDIRECTS`. The body is streamed and cut off at
``max_bytes``; the whole fetch, redirects included, has ``timeout`` seconds. Only text-like
content types are read. Proxies from the environment are ignored (``trust_env=False``), and
no connection is reused (the pool would key it by address, not by name).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from adapters.webfetch.addresses import IPAddress, Target, check, ip_literal, parse
from core.logging import get_logger

log = get_logger("kith.webfetch")

MAX_REDIRECTS = 5
MAX_BYTES = 2 * 1024 * 1024
TIMEOUT = 10.0
TEXT_TYPES = ("application/xhtml+xml", "application/xml", "application/json",
              "application/rss+xml", "application/atom+xml", "application/ld+json")
USER_AGENT = "Kith/0.1 (personal assistant; reads a page a person asked about)"

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]


class FetchError(Exception):
    """The page could not be read; the message can be told to the person."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # the final URL, after redirects
    status: int
    content_type: str
    charset: str | None
    body: bytes


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """Every address the system resolver gives for ``host`` (A and AAAA), in its order."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return []
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = ip_literal(str(sockaddr[0]))
        if address is not None and address not in found:
            found.append(address)
    return found


def text_like(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith("text/") or kind in TEXT_TYPES


class Fetcher:
    """GET pages through :mod:`.addresses`' rules. ``allow_hosts``: the owner's exceptions."""

    def __init__(self, *, allow_hosts: frozenset[str] = frozenset(),
                 resolver: Resolver = system_resolver, max_bytes: int = MAX_BYTES,
                 timeout: float = TIMEOUT, verify: ssl.SSLContext | bool = True) -> None:
        self.allow_hosts = frozenset(h.lower().strip("[]").rstrip(".") for h in allow_hosts)
        self.resolver = resolver
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._client = httpx.AsyncClient(
            trust_env=False, follow_redirects=False, verify=verify,
            # no pooled connections: the pool knows addresses, not names, and must never
            # hand one name's TLS session to another name on the same address
            limits=httpx.Limits(max_keepalive_connections=0),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            headers={"User-Agent": USER_AGENT,
                     "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"})

    async def aclose(self) -> None:
        await self._client.aclose()

    async def vet(self, url: str | httpx.URL) -> tuple[Target, IPAddress]:
        """The target and the address to connect to; :class:`Refused` otherwise."""
        target = parse(url)
        if target.literal is not None:
            addresses = [target.literal]
        else:
            addresses = await self.resolver(target.host, target.port)
        return target, check(target, addresses, self.allow_hosts)

    async def get(self, url: str) -> Fetched:
        """The page at ``url``; raises :class:`Refused` or :class:`FetchError`."""
        parse(url)  # refuses what is not an http(s) URL before anything else
        try:
            async with asyncio.timeout(self.timeout):
                return await self._follow(httpx.URL(url))
        except TimeoutError:
            raise FetchError(f"the page took longer than {self.timeout:g} s") from None

    async def _follow(self, url: httpx.URL) -> Fetched:
        for _hop in range(MAX_REDIRECTS + 1):
            target, address = await self.vet(url)
            request = self._request(url, target, address)
            try:
                response = await self._client.send(request, stream=True)
            except httpx.HTTPError as err:
                log.info("webfetch_failed", host=target.host, error=type(err).__name__)
                raise FetchError(f"could not reach {target.host}") from None
            try:
                if response.is_redirect:
                    try:
                        url = url.join(response.headers.get("location", ""))
                    except (httpx.InvalidURL, ValueError):
                        raise FetchError("the page redirects to an invalid link") from None
                    continue
                return await self._read(url, response)
            finally:
                await response.aclose()
        raise FetchError(f"more than {MAX_REDIRECTS} redirects")

    def _request(self, url: httpx.URL, target: Target, address: IPAddress) -> httpx.Request:
        host_header = target.host if target.literal is None else url.netloc.decode("ascii")
        if target.literal is None and not target.default_port:
            host_header = f"{target.host}:{target.port}"
        direct = url.copy_with(host=str(address), port=target.port)
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        return self._client.build_request("GET", direct, headers={"Host": host_header},
                                          extensions=extensions)

    async def _read(self, url: httpx.URL, response: httpx.Response) -> Fetched:
        if response.status_code >= 400:
            raise FetchError(f"the page answered HTTP {response.status_code}")
        content_type = response.headers.get("content-type", "")
        if not text_like(content_type):
            kind = content_type.split(";", 1)[0].strip() or "no content type"
            raise FetchError(f"the link is not a text page ({kind[:60]})")
        stated = response.headers.get("content-length", "")
        if stated.isdigit() and int(stated) > self.max_bytes:
            raise FetchError(f"the page is larger than {self.max_bytes // 1024} KB")
        chunks: list[bytes] = []
        got = 0
        async for chunk in response.aiter_bytes():  # decompressed: the cap holds for bombs
            got += len(chunk)
            if got > self.max_bytes:
                raise FetchError(f"the page is larger than {self.max_bytes // 1024} KB")
            chunks.append(chunk)
        body = b"".join(chunks)
        return Fetched(str(url), response.status_code, content_type.split(";", 1)[0].strip(),
                       response.charset_encoding, body)

