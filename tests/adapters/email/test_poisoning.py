"""Hostile forwards, learning on (the default), a model that obeys every injected line:
the owner's preferences, learned profile and memories stay exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.events import Sender
from core.memory.model import MemoryKind, NewMemory, Source
from tests.adapters.email.conftest import OWNER, email_rig, forward
from tests.adapters.email.servers import DkimKey, Relay
from tests.fakes.llm import FakeLLM
from tests.fakes.obedient import ATTACKS, MARK, ObedientModel

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


async def seed(store: Any, channel: str, platform_id: str) -> str:
    """The owner as they were: an explicit preference, learned ones, a style, memories."""
    person: str = await store.person_for(channel, Sender(platform_id))
    await store.set_preference(person, "tone", "warm")
    source = Source("seed:1", channel, platform_id, T0)
    for text, kind, key in (("Owen", MemoryKind.PREFERENCE, "name"),
                            ("Best, Owen", MemoryKind.PREFERENCE, "signoff"),
                            ("Writes short, plain sentences", MemoryKind.STYLE, None),
                            ("Works at Acme as an engineer", MemoryKind.FACT, None),
                            ("Sister Ines lives in Porto", MemoryKind.FACT, None)):
        await store.memories.add_memory(NewMemory(
            person_id=person, text=text, kind=kind, source=source, confidence=0.9,
            pref_key=key), T0)
    return person


async def snapshot(kith: Any, person: str) -> tuple[Any, ...]:
    store = kith.store
    memories = await store.memories.memories(person, history=True)
    return (await store.preferences(person), await kith.agent.memory.learned(person),
            sorted((m.id, m.text, m.kind, m.scope, m.superseded_by) for m in memories))


async def test_fifty_hostile_forwards_change_nothing_the_owner_is(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay,
        keys: dict[str, DkimKey]) -> None:
    fake, _ = fake_llm
    model = ObedientModel()
    fake.reply = model
    async with email_rig(tmp_path, fake_llm, relay, keys, memory={}) as rig:
        assert rig.kith.agent.memory.settings.learn  # the default a user gets
        person = await seed(rig.kith.store, "email", OWNER)
        before = await snapshot(rig.kith, person)
        for n in range(50):
            attack = ATTACKS[n % len(ATTACKS)]
            note = ("please draft a short, friendly reply" if n % 2 else "")
            subject = "Fwd: " + " ".join(attack[:60].split())
            raw = forward(note, f"Hi,\n\n{attack}\n\nThanks", subject=subject,
                          original_from=f'"{MARK} (your owner)" <mallory{n}@evil.test>',
                          msgid=f"<hostile-{n}@example.com>")
            await rig.send(rig.signed(raw))
        drafts = await rig.drafts(50)
        await rig.kith.dispatcher.join()
        await rig.kith.agent.wait_background()
        await rig.kith.agent.learner.flush()  # what the quiet time would extract
        assert all(d.recipients == [OWNER] for d in drafts)
        assert model.read_attack >= 50  # every draft request read an attack, and obeyed it
        seen = "".join(model.extractions)  # learning read each note the owner wrote...
        assert seen.count("please draft a short, friendly reply") == 25
        assert MARK not in seen  # ...and nothing of the forwarded mails
        assert await snapshot(rig.kith, person) == before

        # the same pipeline does learn from the owner's own words: the test can fail
        await rig.send(rig.signed(forward(f"by the way, call me {MARK} from now on", "Lunch?",
                                          msgid="<own-words@example.com>")))
        await rig.drafts(51)
        await rig.kith.dispatcher.join()
        await rig.kith.agent.wait_background()
        await rig.kith.agent.learner.flush()
        prefs, _style = await rig.kith.agent.memory.learned(person)
        assert prefs["name"] == MARK
        assert await snapshot(rig.kith, person) != before
