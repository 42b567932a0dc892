"""A hostile message forwarded on WhatsApp Cloud (``context.forwarded``), then ordinary
follow-ups from the owner, with learning on and a model that obeys everything it reads:
no side effect and no change to what Kith knows of the owner, on any of those turns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.events import ConversationKey
from tests.adapters.hostile import seed_private, state
from tests.adapters.whatsapp.test_whatsapp_cloud import OWNER, Rig, serving, text_message
from tests.fakes.llm import FakeLLM
from tests.fakes.obedient import ATTACKS, SIDE_EFFECT_TOOLS, ObedientModel


@pytest.fixture
async def rig(tmp_path: Path, fake_llm: tuple[FakeLLM, str],
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    """The Cloud rig with the configuration a user gets (learning on)."""
    async with serving(tmp_path, fake_llm, monkeypatch, memory={}) as served:
        yield served


def forwarded(wamid: str, body: str) -> Any:
    payload = text_message(wamid, body)
    payload["entry"][0]["changes"][0]["value"]["messages"][0]["context"] = {
        "forwarded": True}
    return payload


async def test_a_forwarded_injection_acts_neither_now_nor_on_the_next_turns(rig: Rig) -> None:
    model = ObedientModel(act=True)
    rig.llm.reply = model
    kith = rig.kith
    assert kith.agent.memory.settings.learn
    person = await seed_private(kith.store, "whatsapp_cloud", OWNER, OWNER, "tel")
    before = await state(kith, person)
    payloads = [forwarded("wamid.fwd1", ATTACKS[0])] + [
        text_message(f"wamid.own{n}", text)
        for n, text in enumerate(("ok thanks", "great", "anything else?"))]
    for n, payload in enumerate(payloads):
        assert (await rig.post(payload)).status_code == 200
        await rig.graph.wait_messages(n + 1)
        await kith.dispatcher.join()
    await kith.agent.wait_background()
    await kith.agent.learner.flush()
    assert await state(kith, person) == before
    assert model.read_attack >= 4
    # every side-effect call it made is a proposal waiting for the owner, none done
    asked = [name for name in model.called if name in SIDE_EFFECT_TOOLS]
    chat = ConversationKey("kith", "whatsapp_cloud", OWNER)
    waiting = await kith.store.actions.proposals(str(chat), person)
    assert asked and sorted(a.tool for a in waiting) == sorted(asked)
