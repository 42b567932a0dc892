"""Mail over a limit still reaches the owner as a notice; forged mail cannot hold up
the owner's; the reading worker ends with the process that started it."""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path

from tests.adapters.email.conftest import KITH, OWNER, email_rig, email_toml, forward
from tests.adapters.email.servers import DkimKey, Relay, SlowLookup, make_key
from tests.fakes.llm import FakeLLM


def big_html_forward(rows: int = 17_000) -> bytes:
    """A 1.8 MB HTML-only forward (a long report table): seconds of html2text work."""
    message = EmailMessage()
    message["From"], message["To"] = OWNER, KITH
    message["Subject"], message["Message-ID"] = "Fwd: the report", make_msgid("example.com")
    cells = "".join(f"<tr><td>cell {i}</td><td><b>value</b> <a href='https://x.example/{i}'>"
                    f"link {i}</a></td></tr>\n" for i in range(rows))
    message.set_content(
        "<html><body><p>Please answer this.</p><div>---------- Forwarded message ---------"
        "<br>From: A &lt;a@partner.example&gt;<br>Subject: report<br><br>"
        f"<table>{cells}</table></div></body></html>", subtype="html")
    return message.as_bytes(policy=SMTP)


async def test_an_owner_mail_over_the_parse_budget_gets_a_notice(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay,
        keys: dict[str, DkimKey]) -> None:
    toml = email_toml(relay.port).replace('address = "', 'parse_seconds = 1\naddress = "')
    async with email_rig(tmp_path, fake_llm, relay, keys, toml=toml) as rig:
        raw = await asyncio.to_thread(rig.signed, big_html_forward())
        assert len(raw) > 1_700_000
        await rig.send(raw)
        [sent] = await rig.drafts(1)
        await rig.kith.dispatcher.join()
    assert rig.fake.chat_requests == []
    assert sent.recipients == [OWNER]
    assert sent.message["Subject"].startswith("Not drafted:")
    body = sent.message.get_body(("plain",))
    assert body is not None and "more than 1 seconds" in body.get_content()


async def test_forged_mails_with_slow_dkim_dns_do_not_delay_the_owner(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay,
        keys: dict[str, DkimKey]) -> None:
    forger = make_key()
    toml = email_toml(relay.port).replace(
        'address = "', 'parse_seconds = 60\nverify_seconds = 60\naddress = "')
    async with email_rig(tmp_path, fake_llm, relay, keys, toml=toml) as rig:
        lookups = {**rig.channel.dnsfunc.records,  # type: ignore[union-attr]
                   f"{forger.selector.decode()}._domainkey.slow.example": forger.dns_record}
        rig.channel.dnsfunc = SlowLookup(lookups, slow="slow.example", delay=30.0)
        rig.fake.reply = "Sure, see you then."
        forged = [forger.sign(forward("Forged note", f"Forged body {n}"), "slow.example")
                  for n in range(3)]
        await rig.channel.accept(forward("warm-up", "the worker is up"))  # unsigned: refused
        sending = [asyncio.create_task(rig.send(raw)) for raw in forged]
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await rig.send(rig.signed(forward("Say yes please", "Lunch on Friday?")))
        [draft] = await rig.drafts(1)
        took = time.monotonic() - started
        await asyncio.gather(*sending)
    assert draft.recipients == [OWNER]
    assert took < 20, f"the owner's mail waited {took:.1f}s behind forged ones"
    assert rig.channel.rejected >= 4
