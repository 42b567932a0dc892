"""Is this mail really from an owner? DKIM aligned with From, or a trusted relay's verdict.

Two ways to pass, nothing else:
- a DKIM signature that verifies (dkimpy) and whose ``d=`` domain is the From domain (or a
  parent of it: relaxed alignment), covering the From header;
- the *topmost* ``Authentication-Results`` header, if its authserv-id is one of the
  configured trusted relays and it reports ``dkim=pass`` aligned with the From domain or
  ``dmarc=pass`` for it. Every other Authentication-Results header is ignored: anyone can
  write one, and the relay we trust adds its own on top.
The From header must hold exactly one address, and it must be a configured owner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses

import dkim
from dkim.util import parse_tag_value

DnsFunc = Callable[..., bytes | None]


@dataclass(frozen=True, slots=True)
class Verdict:
    owner: str | None  # the configured owner address, when verification passed
    reason: str  # why it passed or failed (for logs: never contains mail content)

    @property
    def ok(self) -> bool:
        return self.owner is not None


def from_address(raw: bytes) -> str | None:
    """The single address of the From header, lowercased; None if absent or several."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        values = headers.get_all("from") or []
    except Exception:
        return None
    if len(values) != 1:
        return None
    pairs = getaddresses([str(values[0])])
    if len(pairs) != 1 or "@" not in pairs[0][1]:
        return None
    return pairs[0][1].strip().lower()


def auto_submitted(raw: bytes) -> bool:
    """RFC 3834: mail sent by a machine (our own drafts included) is never answered."""
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        value = str(headers.get("auto-submitted", "no"))
    except Exception:
        return False
    return value.split(";")[0].strip().lower() != "no"


def aligned(signing_domain: str, from_domain: str) -> bool:
    signing, author = signing_domain.lower().strip(".").strip(), from_domain.lower().strip(".")
    return bool(signing) and (author == signing or author.endswith("." + signing))


def verify(
    raw: bytes,
    owners: Iterable[str],
    trusted_authserv_ids: Iterable[str] = (),
    dnsfunc: DnsFunc | None = None,
) -> Verdict:
    if auto_submitted(raw):
        return Verdict(None, "auto_submitted")
    sender = from_address(raw)
    if sender is None:
        return Verdict(None, "from_missing_or_multiple")
    owner = next((o for o in owners if o.strip().lower() == sender), None)
    if owner is None:
        return Verdict(None, "not_an_owner")
    domain = sender.rsplit("@", 1)[1]
    if _dkim_aligned(raw, domain, dnsfunc):
        return Verdict(owner, "dkim")
    trusted = {t.strip().lower() for t in trusted_authserv_ids if t.strip()}
    if trusted and _relay_says_pass(raw, domain, trusted):
        return Verdict(owner, "trusted_relay")
    return Verdict(None, "unverified")


def _dkim_aligned(raw: bytes, domain: str, dnsfunc: DnsFunc | None) -> bool:
    """A signature that verifies, aligned with the From domain. Only aligned signatures
    are looked up (DNS), at most MAX_SIGNATURES, each lookup within DNS_SECONDS: a forged
    mail signed for a domain whose DNS answers slowly costs no lookup at all."""
    try:
        checker = dkim.DKIM(raw, timeout=DNS_SECONDS)
        signatures = [v for name, v in checker.headers if name.lower() == b"dkim-signature"]
    except Exception:
        return False
    for index, value in enumerate(signatures[:MAX_SIGNATURES]):
        if _LENGTH_TAG.search(value):  # l=: unsigned content may be appended to the body
            continue
        if not aligned(_signing_domain(value), domain):
            continue  # could not make the mail the owner's: not worth a DNS lookup
        try:
            kwargs = {"dnsfunc": dnsfunc} if dnsfunc is not None else {}
            if not checker.verify(idx=index, **kwargs):
                continue
        except Exception:  # dkimpy raises on malformed signatures or DNS trouble
            continue
        signer = (checker.domain or b"").decode("ascii", "replace")
        if aligned(signer, domain) and b"from" in [h.lower() for h in checker.include_headers]:
            return True
    return False


def _signing_domain(value: bytes) -> str:
    try:
        tags = parse_tag_value(value)
    except Exception:
        return ""
    domain = tags.get(b"d", b"")
    return domain.decode("ascii", "replace").strip() if isinstance(domain, bytes) else ""


MAX_SIGNATURES = 5
DNS_SECONDS = 3  # per key lookup
_LENGTH_TAG = re.compile(rb"(^|;)\s*l\s*=", re.I)
_RESULT = re.compile(r"\b(dkim|dmarc)\s*=\s*(\w+)([^;]*)", re.I)
_PROP = re.compile(r"\bheader\.(d|i|from)\s*=\s*\"?([^\s;\"]+)", re.I)


def _relay_says_pass(raw: bytes, domain: str, trusted: set[str]) -> bool:
    try:
        headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        values = headers.get_all("authentication-results") or []
    except Exception:
        return False
    if not values:
        return False
    top = " ".join(str(values[0]).split())  # only the topmost: the one our relay added
    authserv, _, results = top.partition(";")
    ids = authserv.split()
    if not ids or ids[0].lower() not in trusted:
        return False
    for method, result, props in _RESULT.findall(_strip_comments(results)):
        if result.lower() != "pass":
            continue
        for name, value in _PROP.findall(props):
            value = value.rsplit("@", 1)[-1]
            if method.lower() == "dmarc" and name.lower() == "from" and aligned(value, domain) \
                    and value.lower() == domain:
                return True
            if method.lower() == "dkim" and name.lower() in ("d", "i") and aligned(value, domain):
                return True
    return False


def _strip_comments(text: str) -> str:
    return re.sub(r"\([^()]*\)", " ", text)
