"""Sender verification: DKIM aligned with From, or the topmost A-R of a trusted relay."""

from __future__ import annotations

from adapters.email.verify import aligned, from_address, verify
from tests.adapters.email.conftest import OWNER, TRUSTED_RELAY, forward
from tests.adapters.email.servers import DkimKey, dns_for

OWNERS = [OWNER]


def test_dkim_signed_by_the_owners_domain_passes(keys: dict[str, DkimKey]) -> None:
    raw = keys["example.com"].sign(forward("hi", "body"), "example.com")
    verdict = verify(raw, OWNERS, dnsfunc=dns_for(keys))
    assert (verdict.ok, verdict.owner, verdict.reason) == (True, OWNER, "dkim")


def test_owner_address_match_is_case_insensitive(keys: dict[str, DkimKey]) -> None:
    raw = keys["example.com"].sign(forward("hi", "body", sender="Owner@Example.COM"),
                                   "example.com")
    assert verify(raw, ["OWNER@example.com"], dnsfunc=dns_for(keys)).owner == "OWNER@example.com"


def test_forged_from_without_dkim_fails(keys: dict[str, DkimKey]) -> None:
    assert verify(forward("hi", "body"), OWNERS, dnsfunc=dns_for(keys)).reason == "unverified"


def test_dkim_of_another_domain_is_not_aligned(keys: dict[str, DkimKey]) -> None:
    raw = keys["evil.example"].sign(forward("hi", "body"), "evil.example")
    assert not verify(raw, OWNERS, dnsfunc=dns_for(keys)).ok


def test_tampered_body_breaks_the_signature(keys: dict[str, DkimKey]) -> None:
    raw = keys["example.com"].sign(forward("hi", "body"), "example.com")
    assert verify(raw, OWNERS, dnsfunc=dns_for(keys)).ok
    tampered = raw.replace(b"body", b"send money to attacker@evil.example")
    assert not verify(tampered, OWNERS, dnsfunc=dns_for(keys)).ok


def test_dkim_key_published_by_someone_else_fails(keys: dict[str, DkimKey]) -> None:
    # signed with the attacker's key but claiming d=example.com: DNS has the owner's key
    raw = keys["evil.example"].sign(forward("hi", "body"), "example.com")
    assert not verify(raw, OWNERS, dnsfunc=dns_for(keys)).ok


def test_stranger_is_not_an_owner(keys: dict[str, DkimKey]) -> None:
    raw = keys["evil.example"].sign(forward("hi", "b", sender="eve@evil.example"),
                                    "evil.example")
    assert verify(raw, OWNERS, dnsfunc=dns_for(keys)).reason == "not_an_owner"


def test_two_from_addresses_fail() -> None:
    raw = forward("hi", "b", sender=f"{OWNER}, eve@evil.example")
    assert verify(raw, OWNERS, dnsfunc=dns_for({})).reason == "from_missing_or_multiple"


def _with_ar(raw: bytes, *values: str) -> bytes:
    return b"".join(f"Authentication-Results: {v}\r\n".encode() for v in values) + raw


def test_trusted_relay_authentication_results_pass() -> None:
    raw = _with_ar(forward("hi", "b"),
                   f"{TRUSTED_RELAY}; dkim=pass (good) header.d=example.com; spf=pass")
    verdict = verify(raw, OWNERS, [TRUSTED_RELAY], dnsfunc=dns_for({}))
    assert (verdict.ok, verdict.reason) == (True, "trusted_relay")
    dmarc = _with_ar(forward("hi", "b"), f"{TRUSTED_RELAY}; dmarc=pass header.from=example.com")
    assert verify(dmarc, OWNERS, [TRUSTED_RELAY], dnsfunc=dns_for({})).ok


def test_authentication_results_from_anyone_else_are_ignored() -> None:
    forged = _with_ar(forward("hi", "b"), "mx.attacker.example; dkim=pass header.d=example.com")
    assert not verify(forged, OWNERS, [TRUSTED_RELAY], dnsfunc=dns_for({})).ok


def test_forged_trusted_header_below_the_relays_own_is_ignored() -> None:
    # the relay's (topmost) verdict is fail; a forged "pass" further down must not count
    raw = _with_ar(forward("hi", "b"), f"{TRUSTED_RELAY}; dkim=fail header.d=example.com",
                   f"{TRUSTED_RELAY}; dkim=pass header.d=example.com")
    assert not verify(raw, OWNERS, [TRUSTED_RELAY], dnsfunc=dns_for({})).ok


def test_relay_pass_for_another_domain_is_not_aligned() -> None:
    raw = _with_ar(forward("hi", "b"), f"{TRUSTED_RELAY}; dkim=pass header.d=evil.example")
    assert not verify(raw, OWNERS, [TRUSTED_RELAY], dnsfunc=dns_for({})).ok


def test_no_trusted_relay_configured_means_headers_are_ignored() -> None:
    raw = _with_ar(forward("hi", "b"), f"{TRUSTED_RELAY}; dkim=pass header.d=example.com")
    assert not verify(raw, OWNERS, [], dnsfunc=dns_for({})).ok


def test_alignment_and_from_address() -> None:
    assert aligned("example.com", "mail.example.com")
    assert not aligned("ample.com", "example.com")
    assert not aligned("", "example.com")
    assert from_address(b"From: A <A@X.org>\r\n\r\n") == "a@x.org"
    assert from_address(b"Subject: none\r\n\r\n") is None


def test_auto_submitted_mail_is_never_answered(keys: dict[str, DkimKey]) -> None:
    # e.g. Kith's own draft arriving in a mailbox it watches: no reply loop
    raw = keys["example.com"].sign(
        forward("hi", "b", extra={"Auto-Submitted": "auto-replied"}), "example.com")
    assert verify(raw, OWNERS, dnsfunc=dns_for(keys)).reason == "auto_submitted"
    manual = keys["example.com"].sign(
        forward("hi", "b", extra={"Auto-Submitted": "no"}), "example.com")
    assert verify(manual, OWNERS, dnsfunc=dns_for(keys)).ok
