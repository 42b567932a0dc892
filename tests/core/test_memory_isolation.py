"""Hypothesis state machine: several people, direct chats and groups, one real agent.

Whatever they say and ask, a person's private memory never appears in another person's
prompt, in a group prompt, or in anyone else's /memory or /export — asserted on the exact
requests the fake model received (chat and extraction) and on the command answers. On
SQLite and on PostgreSQL (a fresh database per example).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from tests.core.memory.harness import (
    MemoryCore,
    item,
    memories_json,
    memory_core,
    msg,
    said_text,
)
from tests.fakes.llm import FakeLLM, FakeLLMServer
from tests.pg import _admin as admin_sql
from tests.pg import database_url

PEOPLE = ("ana", "bob", "cy")
GROUPS = {"g1": ("ana", "bob"), "g2": ("bob", "cy")}
_FACT = re.compile(r"fact (t\d+) (private|shared)")


def extraction(body: dict[str, Any]) -> str:
    if "response_format" not in body:
        return "ok"
    said = said_text(body)
    found = _FACT.search(said)
    if not found:
        return memories_json()
    return memories_json(item(f"Mem-{found.group(1)}", scope=found.group(2)))


@dataclass(frozen=True)
class Told:
    token: str
    owner: str
    scope: str  # private | shared
    where: str  # "dm" or a group name

    @property
    def text(self) -> str:
        return f"Mem-{self.token}"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[FakeLLM, str]]:
    fake = FakeLLM(reply=extraction)
    srv = FakeLLMServer(fake)
    url = srv.start()
    yield fake, url
    srv.stop()


class Isolation(RuleBasedStateMachine):
    fake: FakeLLM
    url: str
    pg_admin: str | None = None  # PostgreSQL: the server's admin URI; None: SQLite

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.TemporaryDirectory()
        self.database: str | None = None
        store = None
        if self.pg_admin is not None:
            from core.store.postgres.store import PostgresStore

            self.database = "iso_" + uuid.uuid4().hex[:12]
            admin_sql(self.pg_admin, f'CREATE DATABASE "{self.database}"')
            store = PostgresStore(database_url(self.pg_admin, self.database), max_size=4)
        self.ctx = memory_core(Path(self.dir.name) / "k.db", self.url, embed=True, store=store)
        self.core: MemoryCore = self.loop.run_until_complete(self.ctx.__aenter__())
        self.told: list[Told] = []
        self.spoke: dict[str, set[str]] = {g: set() for g in GROUPS}
        self.tokens = itertools.count()
        self.fake.requests.clear()

    def teardown(self) -> None:
        self.loop.run_until_complete(self.ctx.__aexit__(None, None, None))
        self.loop.close()
        self.dir.cleanup()
        if self.pg_admin is not None and self.database is not None:
            admin_sql(self.pg_admin, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def say(self, who: str, text: str, group: str | None = None) -> tuple[str, str]:
        """The answer, and everything the model was sent while producing it."""
        self.fake.requests.clear()
        inbound = msg("telegram", who, text, chat=group, group=group is not None)
        answer = self.loop.run_until_complete(self.core.say(inbound))
        sent = json.dumps([b["messages"] for b in self.fake.chat_requests])
        return answer, sent

    def leaks(self, seen: str, allowed: Any) -> list[str]:
        return [t.text for t in self.told if t.text in seen and not allowed(t)]

    # -- what people do ----------------------------------------------------------------

    @rule(who=st.sampled_from(PEOPLE), scope=st.sampled_from(["private", "shared"]))
    def tell_in_private(self, who: str, scope: str) -> None:
        token = f"t{next(self.tokens):04d}"
        _, sent = self.say(who, f"fact {token} {scope}")
        self.told.append(Told(token, who, scope, "dm"))
        assert not self.leaks(sent, self.private_allows(who))

    @rule(group=st.sampled_from(sorted(GROUPS)), data=st.data())
    def tell_in_group(self, group: str, data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(GROUPS[group]))
        scope = data.draw(st.sampled_from(["private", "shared"]))
        token = f"t{next(self.tokens):04d}"
        _, sent = self.say(who, f"fact {token} {scope}", group)
        self.spoke[group].add(who)
        self.told.append(Told(token, who, scope, group))
        assert not self.leaks(sent, self.group_allows(group, who))

    @precondition(lambda self: bool(self.told))
    @rule(who=st.sampled_from(PEOPLE), data=st.data())
    def ask_in_private(self, who: str, data: st.DataObject) -> None:
        lure = data.draw(st.sampled_from(self.told))
        _, sent = self.say(who, f"what do you know about {lure.token} Mem-?")
        assert not self.leaks(sent, self.private_allows(who))

    @precondition(lambda self: bool(self.told))
    @rule(group=st.sampled_from(sorted(GROUPS)), data=st.data())
    def ask_in_group(self, group: str, data: st.DataObject) -> None:
        who = data.draw(st.sampled_from(GROUPS[group]))
        lure = data.draw(st.sampled_from(self.told))
        _, sent = self.say(who, f"tell us about {lure.token} Mem-?", group)
        self.spoke[group].add(who)
        assert not self.leaks(sent, self.group_allows(group, who))

    @rule(who=st.sampled_from(PEOPLE), command=st.sampled_from(["/memory", "/export"]))
    def look(self, who: str, command: str) -> None:
        answer, _ = self.say(who, command)
        assert not self.leaks(answer, lambda t: t.owner == who)
        mine = [t for t in self.told if t.owner == who]
        assert all(t.text in answer for t in mine)  # complete, not just private

    def private_allows(self, who: str) -> Any:
        return lambda t: t.owner == who and (t.where == "dm" or t.scope == "shared")

    def group_allows(self, group: str, who: str) -> Any:
        present = self.spoke[group] | {who}
        return lambda t: t.where == group or (t.scope == "shared" and t.owner in present)


SETTINGS = settings(
    max_examples=15, stateful_step_count=15, deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow tracing
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_no_private_memory_reaches_another_person_or_a_group(
    server: tuple[FakeLLM, str], backend: str, request: pytest.FixtureRequest,
) -> None:
    Isolation.fake, Isolation.url = server
    Isolation.pg_admin = request.getfixturevalue("pg_server") if backend == "postgres" else None
    # PostgreSQL: fewer examples, each migrates a fresh database
    Isolation.TestCase.settings = settings(SETTINGS, max_examples=15 if backend == "sqlite" else 8)
    try:
        Isolation.TestCase("runTest").runTest()
    finally:
        Isolation.pg_admin = None
