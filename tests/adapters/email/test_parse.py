"""The forwarded-email corpus: each client style extracts as recorded; odd MIME never raises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.email.parse import parse_mail, split_forward

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"
CORPUS = sorted(p.stem for p in FIXTURES.glob("*.eml"))


def extract(raw: bytes) -> dict[str, object]:
    mail = parse_mail(raw)
    fwd = mail.forwarded
    return {"style": mail.style, "note": mail.note,
            "sender": str(fwd.sender) if fwd.sender else None,
            "to": [str(a) for a in fwd.to], "cc": [str(a) for a in fwd.cc],
            "date": fwd.date, "subject": fwd.subject, "body": fwd.body,
            "attachments": list(fwd.attachments), "message_id": fwd.message_id}


def test_corpus_covers_every_client_style() -> None:
    styles = {json.loads((FIXTURES / f"{n}.json").read_text())["style"] for n in CORPUS}
    assert styles == {"gmail", "outlook", "apple", "rfc822", "quoted", "plain"}


@pytest.mark.parametrize("name", CORPUS)
def test_fixture_extracts_as_expected(name: str) -> None:
    expected = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert extract((FIXTURES / f"{name}.eml").read_bytes()) == expected


def test_crlf_and_lf_give_the_same_extraction() -> None:
    raw = (FIXTURES / "outlook_en.eml").read_bytes()
    assert b"\r\n" in raw
    assert extract(raw) == extract(raw.replace(b"\r\n", b"\n"))


def test_charsets_decode() -> None:
    german = parse_mail((FIXTURES / "outlook_de.eml").read_bytes())  # iso-8859-1, QP
    assert german.forwarded.sender is not None
    assert german.forwarded.sender.name == "Jürgen Müller"
    assert german.subject == "WG: Angebot für März"  # RFC 2047 encoded word


def test_unknown_charset_still_gives_text() -> None:
    raw = (b"From: owner@example.com\nSubject: x\nContent-Type: text/plain; charset=x-klingon\n"
           b"\nhello \xff there\n")
    assert "hello" in parse_mail(raw).forwarded.body


def test_html_only_drops_hidden_text() -> None:
    raw = (b"From: owner@example.com\nSubject: Fwd: hi\nContent-Type: text/html\n\n"
           b"<p>Visible words</p><div style='display:none'>SECRET INSTRUCTION</div>"
           b"<span style=\"font-size:0\">TINY</span><p hidden>HIDDENATTR</p>"
           b"<style>p{color:red}</style><script>alert(1)</script>")
    body = parse_mail(raw).forwarded.body
    assert "Visible words" in body
    for hidden in ("SECRET INSTRUCTION", "TINY", "HIDDENATTR", "color:red", "alert"):
        assert hidden not in body


def test_outlook_legacy_mailto_brackets() -> None:
    body = ("ok\n\n-----Original Message-----\nFrom: Pat Doe [mailto:pat@old.example]\n"
            "Sent: Monday\nTo: me\nSubject: Hello\n\nText")
    note, fwd, style = split_forward(body)
    assert (note, style) == ("ok", "outlook")
    assert fwd is not None and fwd.sender is not None and fwd.sender.addr == "pat@old.example"


def test_missing_headers_and_empty_message() -> None:
    assert parse_mail(b"").style == "plain"
    assert parse_mail(b"\r\n\r\n").forwarded.body == ""


mime_bits = st.sampled_from([
    b"Content-Type: multipart/mixed; boundary=\"b\"\n", b"--b\n", b"--b--\n",
    b"Content-Type: message/rfc822\n", b"Content-Type: text/html; charset=\"utf-7\"\n",
    b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n",
    b"From: =?utf-8?b?w6k=?= <a@b>\n", b"From: \"unterminated <x@\n", b"Subject: =?bad?q?x?=\n",
    b"---------- Forwarded message ---------\n", b"________________________________\n",
    b"Begin forwarded message:\n", b"On Mon, X <x@y> wrote:\n", b"> quoted\n", b"From: a@b\n",
    b"Message-ID: <<<>>>\n", b"\n", b"\r\n", b"=\n", b"<div style='display:none'>",
    b"Content-Disposition: attachment; filename*=utf-8''%ff%fe\n",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(mime_bits, st.binary(max_size=40)), max_size=40))
def test_parser_never_raises_on_malformed_mime(pieces: list[bytes]) -> None:
    mail = parse_mail(b"".join(pieces))
    assert isinstance(mail.forwarded.body, str)
    assert mail.style in {"gmail", "outlook", "apple", "rfc822", "quoted", "plain"}
