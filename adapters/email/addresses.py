"""Mail addresses and headers, read the way the ``email`` package parsed them.

Recipients are always structured addresses from here, never rebuilt from a display name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses


@dataclass(frozen=True, slots=True)
class Address:
    name: str
    addr: str

    def __str__(self) -> str:
        if self.name and self.addr:
            return f"{self.name} <{self.addr}>"
        return self.addr or self.name


def header(message: Message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # malformed header: the policy's parser gave up
        return ""
    if value is None:
        return ""
    return " ".join(unescape(str(value)).split())


def header_addresses(message: Message, name: str) -> tuple[Address, ...]:
    """An address header as the policy parsed it (display names decoded, never reparsed);
    the header's text through :func:`parse_addresses` when that found no valid address."""
    try:
        value = message.get(name)
        parsed = getattr(value, "addresses", ())
        found = tuple(Address(" ".join(unescape(a.display_name).split()), a.addr_spec)
                      for a in parsed if ADDR_SPEC.fullmatch(a.addr_spec))
    except Exception:  # malformed header: the policy's parser gave up
        found = ()
    if found:
        return found
    raw = [v for k, v in message.raw_items() if k.lower() == name]  # as written, unparsed
    return parse_addresses(unescape(" ".join(str(raw[0]).split()))) if raw else ()


def unescape(text: str) -> str:
    """Undecodable bytes the parser kept as surrogates become U+FFFD."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return text.encode("utf-8", "replace").decode("utf-8")


ADDR_SPEC = re.compile(
    r"[^\s@<>()\[\]\\,;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def parse_addresses(value: str) -> tuple[Address, ...]:
    """Addresses by ``email.utils.getaddresses``; an unbracketed "Name addr@x" still parses."""
    value = re.sub(r"\[mailto:([^\]]+)\]", r"<\1>", value.replace("*", ""))
    found = []
    for name, addr in getaddresses([value]):
        addr = addr.strip()
        if ADDR_SPEC.fullmatch(addr):
            found.append(Address(name.strip().strip('"'), addr))
            continue
        words = f"{name} {addr}".split()
        spec = [w.strip("<>()[],;\"'") for w in words]
        hits = [i for i, w in enumerate(spec) if ADDR_SPEC.fullmatch(w)]
        if hits:
            rest = " ".join(w for i, w in enumerate(words) if i != hits[-1])
            found.append(Address(rest.strip(" \"'"), spec[hits[-1]]))
    return tuple(found)


_ANGLE = re.compile(r"<\s*(?:mailto:)?([^<>\s]{1,320})\s*>|\[mailto:([^\]\s]{1,320})\]", re.I)


def sender_of(value: str) -> Address | None:
    """The one sender of a From line written as text (an inline forward's header block).

    The address is the angle-address (``<...>`` or Outlook's ``[mailto:...]``), never an
    address-like text beside it: in ``x@evil.test <sender@partner.example>`` the sender is
    ``sender@partner.example`` and ``x@evil.test`` is only part of the name. With no angle
    address, a single bare address is the sender; several bare ones are no sender at all.
    """
    value = value.replace("*", "")
    angles = [(m.group(1) or m.group(2) or "").strip() for m in _ANGLE.finditer(value)]
    if angles:
        addr = angles[-1]
        if not ADDR_SPEC.fullmatch(addr):
            return None
        name = _ANGLE.sub(" ", value)
        return Address(" ".join(name.split()).strip(" \"',;"), addr)
    words = [w.strip("()[],;\"'") for w in value.split()]
    hits = [w for w in words if ADDR_SPEC.fullmatch(w)]
    if len(hits) != 1:
        return None
    name = " ".join(w for w in value.split() if w.strip("()[],;\"'") != hits[0])
    return Address(name.strip(" \"',;"), hits[0])
