"""A mail recorded but not answered before a restart is still drafted afterwards."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.adapters.email.conftest import OWNER, email_rig, forward
from tests.adapters.email.servers import DkimKey, Relay
from tests.fakes.llm import FakeLLM, Fault


async def test_restart_resumes_and_delivers_from_the_spool(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay, keys: dict[str, DkimKey],
) -> None:
    fake, _ = fake_llm
    fake.inject(Fault.hang())  # the first attempt never answers
    async with email_rig(tmp_path, fake_llm, relay, keys) as rig:
        await rig.send(rig.signed(forward("say yes", "Dinner on Friday?",
                                          msgid="<resume-1@example.com>")))
        for _ in range(200):  # wait until the turn is stuck on the model
            if fake.chat_requests:
                break
            await asyncio.sleep(0.02)
        await rig.kith.dispatcher.close(grace=0.05)  # crash-like stop: the turn is cancelled
        spooled = list(rig.channel.spool.glob("*.eml"))
        assert len(spooled) == 1
    assert relay.received == []
    fake.script(["Yes, Friday is perfect."])
    async with email_rig(tmp_path, fake_llm, relay, keys) as rig:
        [sent] = await rig.drafts(1)
        await rig.kith.dispatcher.join()
        assert list(rig.channel.spool.glob("*.eml")) == []
    assert sent.recipients == [OWNER]
    assert "Yes, Friday is perfect." in sent.message.get_body(("plain",)).get_content()
    ready = [p for p in sent.message.iter_attachments() if p.get_filename() == "reply.eml"]
    assert len(ready) == 1  # rebuilt from the spooled original after the restart
