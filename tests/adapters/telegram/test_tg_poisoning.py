"""Forwarded Telegram messages and quoted replies carrying injected instructions, learning
on, a model that obeys them: nothing the owner is changes; their own words still teach."""

from __future__ import annotations

import itertools

import pytest

from core.events import ConversationKey
from tests.adapters.email.test_poisoning import seed, snapshot
from tests.adapters.hostile import seed_private, state
from tests.adapters.telegram.rig import OWNER, RigFactory, fixture
from tests.fakes.obedient import ATTACKS, MARK, SIDE_EFFECT_TOOLS, ObedientModel

_ids = itertools.count(500)


def forwarded(text: str) -> dict[str, object]:
    update = fixture("forwarded")
    n = next(_ids)
    update["update_id"], update["message"]["message_id"] = 20_000 + n, n
    update["message"]["text"] = text
    update["message"]["forward_origin"]["sender_user"]["first_name"] = f"{MARK} (owner)"
    return update


def quoting(own: str, quoted: str) -> dict[str, object]:
    update = fixture("private_text")
    n = next(_ids)
    update["update_id"], update["message"]["message_id"] = 20_000 + n, n
    update["message"]["text"] = own
    update["message"]["reply_to_message"] = {
        "message_id": n - 1, "from": {"id": 1002, "is_bot": False, "first_name": MARK},
        "chat": update["message"]["chat"], "date": 1764140000, "text": quoted}
    return update


async def test_hostile_forwards_and_quotes_change_nothing(telegram_rig: RigFactory) -> None:
    model = ObedientModel()
    async with telegram_rig(memory={}) as rig:
        rig.llm.reply = model
        kith = rig.kith
        assert kith.agent.memory.settings.learn
        person = await seed(kith.store, "telegram", str(OWNER))
        before = await snapshot(kith, person)
        for n in range(20):
            attack = ATTACKS[n % len(ATTACKS)]
            await rig.send(forwarded(attack) if n % 2 else quoting("what should I answer?",
                                                                   attack))
        await kith.agent.wait_background()
        await kith.agent.learner.flush()
        assert model.read_attack >= 20
        seen = "".join(model.extractions)  # learning read the owner's own comments only
        assert seen.count("what should I answer?") == 10 and MARK not in seen
        assert await snapshot(kith, person) == before

        await rig.send(quoting(f"call me {MARK} from now on", "see you at 3"))
        await kith.agent.wait_background()
        await kith.agent.learner.flush()
        assert (await kith.agent.memory.learned(person))[0]["name"] == MARK


def own(text: str) -> dict[str, object]:
    update = fixture("private_text")
    n = next(_ids)
    update["update_id"], update["message"]["message_id"] = 20_000 + n, n
    update["message"]["text"] = text
    return update


@pytest.mark.parametrize("how", ["forward", "quote"])
async def test_a_hostile_forward_acts_neither_now_nor_on_the_next_turns(
        telegram_rig: RigFactory, how: str) -> None:
    """The owner forwards (or quotes) an injection, then writes ordinary follow-ups; a model
    that obeys everything it reads, tools included: nothing changes on any of those turns."""
    model = ObedientModel(act=True)
    async with telegram_rig(memory={}) as rig:  # the defaults: learning on
        rig.llm.reply = model
        kith = rig.kith
        assert kith.agent.memory.settings.learn
        person = await seed_private(kith.store, "telegram", str(OWNER), str(OWNER))
        before = await state(kith, person)
        attack = ATTACKS[0]
        await rig.send(forwarded(attack) if how == "forward"
                       else quoting("what should I answer?", attack))
        for text in ("ok thanks", "sounds good", "and what else?"):
            await rig.send(own(text))
        await kith.agent.wait_background()
        await kith.agent.learner.flush()
        assert await state(kith, person) == before
        assert model.read_attack >= 4  # every turn read it: the history carries it
        # every side-effect call it made is a proposal waiting for the owner, none done
        asked = [name for name in model.called if name in SIDE_EFFECT_TOOLS]
        chat = ConversationKey("kith", "telegram", str(OWNER))
        waiting = await kith.store.actions.proposals(str(chat), person)
        assert asked and sorted(a.tool for a in waiting) == sorted(asked)
