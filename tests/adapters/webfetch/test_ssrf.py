"""SSRF: links into the owner's network are refused before a byte is sent to them.

Every refusal here is :class:`Refused`, raised while vetting, before any connection; the
trap (a loopback listener) counts connections and must see none. Names resolve through an
injected resolver, so a name can be made to point anywhere, and to change its answer.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from adapters.webfetch.addresses import Refused
from adapters.webfetch.fetch import Fetcher, FetchError, system_resolver
from tests.adapters.webfetch.pages import Names, Site, serve_tls, tls_files, trap
from tests.fakes.loopback import serve_loopback

NAMES = {
    "metadata.google.internal": [["169.254.169.254"]],
    "instance-data.ec2.internal": [["fd00:ec2::254"]],
    "trap.127.0.0.1.nip.io": [["127.0.0.1"]],
    "intranet.corp": [["10.1.2.3"]],
    "nas.home.arpa": [["192.168.178.20"]],
    "mixed.example": [["93.184.216.34", "127.0.0.1"]],
    "cgnat.example": [["100.64.0.1"]],
    "pages.test": [["127.0.0.1"]],
}


async def names_or_system(host: str, port: int) -> Any:
    if host in NAMES:
        return await Names(NAMES)(host, port)
    return await system_resolver(host, port)  # "localhost": the test machine's own


ATTEMPTS = [
    "http://127.0.0.1:{trap}/",
    "http://localhost:{trap}/",
    "http://LOCALHOST.:{trap}/",
    "http://2130706433:{trap}/",  # decimal
    "http://0x7f000001:{trap}/",  # hex
    "http://0177.0.0.1:{trap}/",  # octal
    "http://0x7f.0.0.1:{trap}/",
    "http://127.1:{trap}/",
    "http://[::ffff:127.0.0.1]:{trap}/",  # IPv4-mapped IPv6
    "http://[::1]:{trap}/",
    "http://0.0.0.0:{trap}/",
    "http://[::]:{trap}/",
    "http://user:pw@127.0.0.1:{trap}/",  # credentials before the host
    "http://trap.127.0.0.1.nip.io:{trap}/",  # a public-looking name for loopback
    "http://[64:ff9b::7f00:1]:{trap}/",  # NAT64 of 127.0.0.1
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/meta-data/",  # AWS metadata over IPv6 (unique local)
    "http://instance-data.ec2.internal/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",  # Alibaba metadata
    "http://[::ffff:a9fe:a9fe]/latest/meta-data/",  # 169.254.169.254, IPv4-mapped
    "http://169.254.1.1/",  # link-local
    "http://[fe80::1]/",
    "http://[fc00::1]/",  # unique local
    "http://10.0.0.1/",
    "http://172.16.5.4/",
    "http://192.168.1.1/",
    "http://intranet.corp/",
    "http://nas.home.arpa/admin",
    "http://cgnat.example/",  # 100.64/10: carrier-grade NAT, not the internet
    "http://mixed.example:{trap}/",  # one public and one loopback answer: refused whole
    "http://224.0.0.1/",  # multicast
    "file:///etc/passwd",
    "gopher://127.0.0.1:{trap}/_GET",
    "ftp://127.0.0.1:{trap}/",
    "http:///nohost",
]


@pytest.mark.parametrize("url", ATTEMPTS)
async def test_refused_before_a_byte_is_sent(url: str) -> None:
    async with trap() as pit:
        fetcher = Fetcher(resolver=names_or_system)
        try:
            with pytest.raises(Refused):
                await fetcher.get(url.format(trap=pit.port))
        finally:
            await fetcher.aclose()
        assert pit.connections == 0


def test_the_battery_is_large() -> None:
    assert len(ATTEMPTS) >= 20


async def test_redirect_chain_into_a_private_range() -> None:
    """An allow-listed page redirects twice, then to loopback / a private address: the hop
    into the network is refused, and the trap never sees a connection."""
    site = Site()
    async with serve_loopback(site) as base, trap() as pit:
        port = int(base.rsplit(":", 1)[1])
        site.redirects = {"/r1": "/r2", "/r2": f"http://127.0.0.1:{pit.port}/",
                          "/s1": "http://10.9.8.7/x",
                          "/t1": f"http://[::ffff:127.0.0.1]:{pit.port}/"}
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test"}), resolver=Names(NAMES))
        try:
            for start in ("/r1", "/s1", "/t1"):
                with pytest.raises(Refused):
                    await fetcher.get(f"http://pages.test:{port}{start}")
        finally:
            await fetcher.aclose()
        assert pit.connections == 0
        assert [p for p, _ in site.requests] == ["/r1", "/r2", "/s1", "/t1"]


async def test_a_name_that_rebinds_is_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """DNS rebinding: the name answers public to the check, then loopback to anyone who
    asks again (the system resolver too). The fetch connects to the address it checked —
    here a public one, which the test machine cannot reach — never to the trap."""
    async with trap() as pit:
        names = Names({"rebind.example": [["93.184.216.34"], ["127.0.0.1"]]})
        real = socket.getaddrinfo

        def rebound(host: Any, *args: Any, **kwargs: Any) -> Any:
            if host in ("rebind.example", b"rebind.example"):  # anyio passes bytes
                return real("127.0.0.1", *args, **kwargs)
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebound)
        fetcher = Fetcher(resolver=names)
        try:
            with pytest.raises(FetchError):  # 93.184.216.34 is off limits to tests
                await fetcher.get(f"http://rebind.example:{pit.port}/")
        finally:
            await fetcher.aclose()
        assert names.calls == ["rebind.example"]
        assert pit.connections == 0


async def test_too_many_redirects() -> None:
    site = Site()
    async with serve_loopback(site) as base:
        port = int(base.rsplit(":", 1)[1])
        site.redirects = {"/loop": "/loop"}
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test"}), resolver=Names(NAMES))
        try:
            with pytest.raises(FetchError, match="more than 5 redirects"):
                await fetcher.get(f"http://pages.test:{port}/loop")
        finally:
            await fetcher.aclose()
        assert len(site.requests) == 6


async def test_limits_while_streaming() -> None:
    """Over 2 MB (stated or not), a non-text type and a page slower than the limit."""
    site = Site()
    async with serve_loopback(site) as base:
        port = int(base.rsplit(":", 1)[1])
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test"}), resolver=Names(NAMES),
                          timeout=1.0)
        try:
            for path, problem in (("/big", "larger than 2048 KB"),
                                  ("/big-chunked", "larger than 2048 KB"),
                                  ("/image", "not a text page"),
                                  ("/slow", "longer than 1 s"),
                                  ("/missing", "HTTP 404")):
                with pytest.raises(FetchError, match=problem):
                    await fetcher.get(f"http://pages.test:{port}{path}")
        finally:
            await fetcher.aclose()


async def test_an_allow_listed_name_is_read_with_its_own_host_header() -> None:
    site = Site()
    async with serve_loopback(site) as base:
        port = int(base.rsplit(":", 1)[1])
        site.redirects = {"/moved": "/article"}
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test"}), resolver=Names(NAMES))
        try:
            page = await fetcher.get(f"http://pages.test:{port}/moved")
        finally:
            await fetcher.aclose()
        assert page.url == f"http://pages.test:{port}/article"
        assert b"Tides of the Tagus" in page.body
        assert [h["host"] for _, h in site.requests] == [f"pages.test:{port}"] * 2


async def test_the_allow_list_is_by_name_not_by_address() -> None:
    """Allowing pages.test does not allow 127.0.0.1 itself, nor another name for it."""
    async with trap() as pit:
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test"}), resolver=Names(NAMES))
        try:
            for url in (f"http://127.0.0.1:{pit.port}/",
                        f"http://trap.127.0.0.1.nip.io:{pit.port}/"):
                with pytest.raises(Refused):
                    await fetcher.get(url)
        finally:
            await fetcher.aclose()
        assert pit.connections == 0


async def test_https_connects_to_the_vetted_address_and_checks_the_name(
        tmp_path: Path) -> None:
    """The connection goes to 127.0.0.1, yet TLS names pages.test (SNI) and the certificate
    is verified for that name: a name the certificate does not carry fails."""
    cert, key = tls_files(tmp_path, "pages.test")
    trust = ssl.create_default_context(cafile=str(cert))
    site = Site()
    async with serve_tls(site, cert, key) as port:
        names = Names({"pages.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test", "other.test"}),
                          resolver=names, verify=trust)
        try:
            page = await fetcher.get(f"https://pages.test:{port}/article")
            assert page.url == f"https://pages.test:{port}/article"
            assert b"Tides of the Tagus" in page.body
            assert site.requests[0][1]["host"] == f"pages.test:{port}"
            with pytest.raises(FetchError, match=r"could not reach other\.test"):
                await fetcher.get(f"https://other.test:{port}/article")
        finally:
            await fetcher.aclose()
        assert len(site.requests) == 1  # the wrong name never got a request through
