"""Issue #25 test 4, isolation: over random people, links, groups and calendars, a person
sees only their own calendar's events — the owner the one in bot.toml, anyone else the one
they linked — and in a group only their own busy blocks, never a title; nobody ever sees
another account's events (a property test against a real Radicale)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bots.fleet import load_bot
from core.calendar.agenda import NO_CALENDAR
from core.calendar.links import Link, purpose
from core.events import Sender, Trust
from core.vault import KEY_FILE, Vault
from tests.calendar.ics import vcal, vevent
from tests.calendar.linked import linked_core, said
from tests.calendar.radicale import Radicale
from tests.calendar.test_caldav import bot_with_calendar
from tests.fakes.llm import strict_fake_llm

PEOPLE = ("a", "b", "c", "d", "e")  # "a" is the owner (bot.toml); the rest may link
PLACES = ("direct", "g1", "g2")
ACCOUNTS = 3


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    title: str  # the one event's title: seen means read


def _account(radicale: Radicale, title: str, hour: int) -> Account:
    user, password = radicale.user()
    radicale.calendar(user, password).save_event(vcal(vevent(
        f"ev-{uuid.uuid4().hex[:8]}", title,
        f"DTSTART;TZID=Europe/Lisbon:20270330T{hour:02d}0000",
        f"DTEND;TZID=Europe/Lisbon:20270330T{hour:02d}3000")))
    return Account(user, password, title)


@pytest.fixture(scope="module")
def accounts(radicale: Radicale) -> tuple[Account, list[Account]]:
    """The owner's account and three others, each with one event of its own title."""
    owner = _account(radicale, "owner-secret", 8)
    return owner, [_account(radicale, f"secret-{i}", 10 + i) for i in range(ACCOUNTS)]


links = st.fixed_dictionaries({p: st.none() | st.integers(0, ACCOUNTS - 1) for p in PEOPLE[1:]})
steps = st.lists(st.tuples(st.sampled_from(PEOPLE), st.sampled_from(PLACES)),
                 min_size=1, max_size=8)


async def _run(root: Path, radicale: Radicale, owner: Account, others: list[Account],
               linked: dict[str, int | None], said_where: list[tuple[str, str]]) -> None:
    definition = load_bot(bot_with_calendar(root, radicale.url, owner.user,
                                            env="KITH_ISOLATION_OWNER_PASSWORD"))
    titles = {owner.title, *(a.title for a in others)}
    async with strict_fake_llm() as fake:
        assert fake.base_url
        async with linked_core(root, fake.base_url, [definition]) as core:
            vault = Vault(None, root / KEY_FILE)
            for who, index in linked.items():
                if index is None:
                    continue
                person = await core.store.person_for("test", Sender(f"user-{who}", who))
                account = others[index]
                await core.store.calendar_links.consume(person, "-", Link(
                    person, radicale.url, account.user,
                    vault.seal(account.password, purpose(person)), datetime.now(UTC)))
            for n, (who, place) in enumerate(said_where, start=1):
                group = place != "direct"
                chat = place if group else who
                trust = Trust.OWNER if who == "a" else Trust.ALLOWED
                inbound = said(who, chat, n, "/agenda 2027-03-30", group=group, trust=trust)
                index = linked.get(who)
                own = (owner.title if who == "a" else
                       others[index].title if index is not None else None)
                reply = await core.send(inbound)
                if own is None:
                    assert reply == NO_CALENDAR, (who, place, reply)
                    continue
                seen = {t for t in titles if t in reply}
                if group:
                    assert not seen and "busy" in reply, (who, place, reply)
                else:
                    assert seen == {own}, (who, place, reply)


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(linked=links, said_where=steps)
def test_nobody_ever_sees_anyone_elses_calendar(
        tmp_path_factory: pytest.TempPathFactory, radicale: Radicale,
        accounts: tuple[Account, list[Account]], monkeypatch: pytest.MonkeyPatch,
        linked: dict[str, int | None], said_where: list[tuple[str, str]]) -> None:
    owner, others = accounts
    monkeypatch.setenv("KITH_ISOLATION_OWNER_PASSWORD", owner.password)
    root = tmp_path_factory.mktemp("iso")
    asyncio.run(_run(root, radicale, owner, others, linked, said_where))
