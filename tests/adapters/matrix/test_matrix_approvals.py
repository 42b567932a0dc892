"""Approval on Matrix against the real Synapse: a notice under each proposed action, answered
by a 👍 / 👎 reaction or a "yes" / "no" reply from the person it is for. Default
configuration: Alice's message quotes Carol's (a reply fallback), so the reminder it asks
for is proposed, not set."""

from __future__ import annotations

from pathlib import Path

from core.events import Sender
from core.schedule.model import Kind
from core.tools.approvals import NOT_WAITING
from tests.adapters.matrix.kit import bot_toml, human, running_bot, unique
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse
from tests.fakes.llm import FakeLLM

CALL = {"text": "pay Ben", "when": "2099-01-01T09:00:00+00:00"}


async def said(person: Human, room_id: str, bot_id: str, start: str) -> str:
    """The event id of the bot's message in ``room_id`` starting with ``start``."""
    def found() -> str | None:
        return next((eid for eid, text in person.shown(room_id, bot_id).items()
                     if text.startswith(start)), None)
    try:
        return str(await person.wait_for(found, 30))
    except TimeoutError:
        raise AssertionError(f"{start!r} not in {person.shown(room_id, bot_id)}") from None


def quoting(author: str, quoted: str, own: str) -> str:
    """A reply's body with the fallback legacy clients put before it (someone else's words)."""
    return f"> <{author}> {quoted}\n\n{own}"


async def react(person: Human, room_id: str, event_id: str, key: str) -> None:
    await person.client.room_send(room_id, "m.reaction", {"m.relates_to": {
        "rel_type": "m.annotation", "event_id": event_id, "key": key}},
        ignore_unverified_devices=True)


async def test_a_reaction_or_reply_from_the_person_decides_once(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    local = unique("bot")
    bot_id = synapse.register(local, "bot-password")
    async with (human(synapse, tmp_path, unique("alice")) as alice,
                human(synapse, tmp_path, unique("carol")) as carol):
        toml = bot_toml(synapse, bot_id, [alice.user_id, carol.user_id])
        async with running_bot(tmp_path, url, toml) as channel:
            store = channel.ctx.store
            me = await store.person_for("matrix", Sender(alice.user_id))

            async def reminders() -> list[str]:
                return [s.text for s in await store.schedule.for_person(me, Kind.REMINDER)]

            room_id = await alice.create_room([bot_id, carol.user_id])
            await carol.client.join(room_id)
            await carol.wait_for(lambda: room_id in carol.client.rooms)  # her own sync too
            await alice.wait_joined(room_id, carol.user_id)
            await alice.wait_joined(room_id, bot_id)
            fake.script_tool_call("create_reminder", CALL)
            fake.script(["I've asked you first."])
            asked = await carol.say(room_id, "Alice, set a reminder to pay Ben")
            await alice.say(room_id, quoting(carol.user_id, "Alice, set a reminder to pay Ben",
                                             f"{local}, what about this?"),
                            **{"m.relates_to": {"m.in_reply_to": {"event_id": asked}}})
            notice = await said(alice, room_id, bot_id, "Do this? create reminder (text: pay Ben")
            await react(carol, room_id, notice, "👍")  # not carol's to answer
            await said(alice, room_id, bot_id, NOT_WAITING)
            assert await reminders() == []
            await react(alice, room_id, notice, "👍️")  # with the emoji variation selector
            done = await said(alice, room_id, bot_id, "Reminder set: pay Ben")
            assert "Undo: /reminders cancel r" in alice.shown(room_id, bot_id)[done]
            await alice.say(room_id, f"> <{bot_id}> Do this?\n\nyes", **{"m.relates_to": {
                "m.in_reply_to": {"event_id": notice}}})  # too late: decided already
            texts = list(alice.shown(room_id, bot_id).values())
            await alice.wait_for(lambda: list(alice.shown(room_id, bot_id).values()).count(
                NOT_WAITING) == 2)
            assert await reminders() == ["pay Ben"]
            assert sum("I've asked you first." in t for t in texts) == 1  # no turn re-ran

            fake.script_tool_call("create_reminder", {**CALL, "text": "call Ann"})
            fake.script(["Asked again."])
            asked = await carol.say(room_id, "and call Ann")
            await alice.say(room_id, quoting(carol.user_id, "and call Ann", f"{local}, and this?"),
                            **{"m.relates_to": {"m.in_reply_to": {"event_id": asked}}})
            second = await said(alice, room_id, bot_id, "Do this? create reminder (text: call Ann")
            await alice.say(room_id, "no", **{"m.relates_to": {
                "m.in_reply_to": {"event_id": second}}})
            await said(alice, room_id, bot_id, "OK, I won't: create reminder (text: call Ann")
            assert await reminders() == ["pay Ben"]
