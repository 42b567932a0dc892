""""Plan my week" against a real Radicale: one tool call, one proposal listing every block,
one yes creates them all exactly once (with the action's UIDs), a no creates none."""

from __future__ import annotations

import icalendar

from tests.calendar.radicale import Radicale
from tests.calendar.test_caldav import core, owner
from tests.core.harness import message
from tests.core.tools.harness import ToolCore
from tests.fakes.llm import FakeLLM

__all__ = ["core", "owner"]
WISHES = [{"what": "Write report", "duration_minutes": 120, "preferred": "morning"},
          {"what": "Gym", "duration_minutes": 60, "preferred": "evening", "times": 2}]
# Monday 29 March 08:00 Lisbon: Standup Mon 09:00–09:30, Call with NY Mon 15:00–16:00, the
# all-day conference Mon–Tue (marked, not busy). The report goes on the least busy day
# (Tuesday), then the gym on the next least busy ones.
PLAN = [
    "Plan for your week: 3 blocks to add to your calendar:",
    "- Tue 30 Mar 09:00–11:00  Write report",
    "- Wed 31 Mar 18:00–19:00  Gym",
    "- Thu 1 Apr 18:00–19:00  Gym",
    "Also open on your lists: oat milk.",
]


def kiths(radicale: Radicale, owner: tuple[str, str]) -> list[tuple[str, str]]:
    """(UID, summary) of every event Kith made, as another client sees them; each in the
    person's zone."""
    found = []
    for obj in radicale.calendar(*owner).events():
        for event in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            if str(event["UID"]).startswith("kith-"):
                assert event["DTSTART"].params["TZID"] == "Europe/Lisbon"
                found.append((str(event["UID"]), str(event["SUMMARY"])))
    return sorted(found)


async def propose(core: ToolCore, fake: FakeLLM) -> str:
    fake.script_tool_call("list_add", {"list": "shopping", "items": ["oat milk"]})
    fake.script(["Added."])
    await core.send(message("a", 1, "add oat milk to shopping"))
    fake.script_tool_call("plan_week", {"wishes": WISHES})
    fake.script(["Here is a plan; say yes to add it."])
    return await core.send(message("a", 2, "plan my week: report 2h in a morning, gym twice"))


async def test_one_proposal_then_a_yes_creates_every_block_once(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    reply = await propose(core, fake)
    lines = reply.splitlines()
    assert lines[lines.index(PLAN[0]):lines.index(PLAN[0]) + len(PLAN)] == PLAN
    assert "Reply yes to do it or no to drop it" in reply
    assert kiths(radicale, owner) == []  # nothing before the yes
    assert len(await core.store.actions.made_by(message("a", 2).id)) == 1  # one proposal
    done = await core.send(message("a", 3, "yes"))
    assert done.splitlines() == ["Added to your calendar:", *PLAN[1:4]]
    made = kiths(radicale, owner)
    assert sorted(s for _, s in made) == ["Gym", "Gym", "Write report"]
    assert len({uid for uid, _ in made}) == 3
    week = await core.send(message("a", 4, "/agenda week"))  # Kith's writes, in the cache
    assert "09:00–11:00  Write report" in week and week.count("18:00–19:00  Gym") == 2, week
    fake.script(["Yes?"])  # nothing waits any more: a second yes creates nothing
    assert await core.send(message("a", 5, "yes")) == "Yes?"
    assert len(kiths(radicale, owner)) == 3


async def test_a_no_creates_nothing(core: ToolCore, fake: FakeLLM, radicale: Radicale,
                                    owner: tuple[str, str]) -> None:
    await propose(core, fake)
    declined = await core.send(message("a", 3, "no"))
    assert declined.startswith("OK, I won't: Plan for your week")
    assert kiths(radicale, owner) == []


async def test_a_week_with_no_room_is_said_to_the_model_not_proposed(
        core: ToolCore, fake: FakeLLM, radicale: Radicale) -> None:
    fake.script_tool_call("plan_week", {"wishes": [
        {"what": "Retreat", "duration_minutes": 480, "preferred": "morning"}]})
    fake.script(["A morning is too short for 8 hours; shall I split it?"])
    reply = await core.send(message("a", 1, "plan my week: an 8 hour retreat in a morning"))
    assert reply == "A morning is too short for 8 hours; shall I split it?"
    tool_message = fake.chat_requests[-1]["messages"][-1]["content"]
    assert "no free time this week fits" in tool_message
    assert await core.store.actions.made_by(message("a", 1).id) == []
