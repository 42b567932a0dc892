"""Which URLs and addresses a fetch may reach (pure: no I/O).

A URL names a host; the host is either an IP literal — in any spelling the C library would
accept: ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``, ``[::ffff:127.0.0.1]`` — or
a name to resolve. Every address the fetcher would connect to must be *global*: loopback,
private, link-local (the cloud metadata addresses live there), carrier-grade NAT, unique
local, documentation, multicast, reserved and unspecified addresses are refused, and an
IPv4 address mapped or embedded in IPv6 is judged as the IPv4 address it carries. The owner
may allow-list host names (or literals) exactly as a URL spells them; nothing else is exempt.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
# addresses that are global by the registry yet serve cloud metadata
_METADATA = frozenset({ipaddress.ip_address("100.100.100.200"),  # Alibaba (also CGNAT)
                       ipaddress.ip_address("169.254.169.254"),
                       ipaddress.ip_address("fd00:ec2::254")})


class Refused(Exception):
    """The URL or an address it leads to may not be fetched; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    scheme: str
    host: str  # as the URL names it, lowercased, without brackets or a trailing dot
    port: int
    literal: IPAddress | None  # the host is an IP literal (any spelling)

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)


def _number(part: str) -> int | None:
    """One part of an inet_aton address: decimal, octal (leading 0) or hex (0x)."""
    try:
        if part[:2].lower() == "0x":
            return int(part[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part[1:], 8)
        return int(part, 10) if part.isdigit() else None
    except ValueError:
        return None


def numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as ``inet_aton`` reads it (1-4 dotted parts, each decimal/octal/hex), or None."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers = [_number(p) for p in parts]
    if any(n is None for n in numbers):
        return None
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    value = 0
    for n in head:
        value = value << 8 | n
    return ipaddress.IPv4Address(value << (8 * (4 - len(head))) | last)


def ip_literal(host: str) -> IPAddress | None:
    host = host.strip("[]").split("%", 1)[0]  # an IPv6 zone id changes nothing here
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return numeric_ipv4(host)


def parse(url: str | httpx.URL) -> Target:
    """The scheme, host and port a URL names; raises :class:`Refused` for anything else."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise Refused("not a valid URL") from None
    if parsed.scheme not in SCHEMES:
        raise Refused(f"only http and https links can be read, not {parsed.scheme or 'this'!r}")
    host = parsed.host.lower().rstrip(".")
    if not host:
        raise Refused("the link names no host")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return Target(parsed.scheme, host, port, ip_literal(host))


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address maps, translates or tunnels, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in ipaddress.IPv6Network("64:ff9b::/96"):  # NAT64
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if int(address) >> 32 == 0:  # IPv4-compatible ::a.b.c.d (deprecated)
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def why_not(address: IPAddress) -> str | None:
    """Why ``address`` may not be reached, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = _carried_ipv4(address)
        if carried is not None:
            inner = why_not(carried)
            return f"IPv4 {carried} inside IPv6: {inner}" if inner else None
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private or not address.is_global or address.is_multicast:
        return "a private or reserved address"
    return None


def check(target: Target, addresses: list[IPAddress], allowed: frozenset[str]) -> IPAddress:
    """The address to connect to: the first one, after every one passed the check.

    A name that resolves to a public and a private address is refused as a whole."""
    if not addresses:
        raise Refused(f"{target.host} does not resolve")
    if target.host not in allowed:
        for address in addresses:
            reason = why_not(address)
            if reason:
                raise Refused(f"{target.host} is {reason}")
    return addresses[0]
