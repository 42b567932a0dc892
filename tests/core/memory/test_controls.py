"""/memory /forget /export /link /unlink through the real agent."""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.events import ConversationKey
from core.provenance import Origin
from tests.core.memory.harness import (
    Brain,
    MemoryCore,
    chat_prompts,
    item,
    memories_json,
    memory_core,
    msg,
)
from tests.fakes.llm import FakeLLM

FACTS = {
    "Zanzibarquux": memories_json(item("Grew up in Zanzibarquux")),
    "oboe": memories_json(item("Plays the oboe")),
    "Bruno": memories_json(item("Brother Bruno lives in Rome")),
}


def code_of(answer: str) -> str:
    found = re.search(r"code is (\w+)", answer)
    assert found, answer
    return found.group(1)


def ids_in(listing: str) -> list[str]:
    return re.findall(r"\[(m[0-9a-f]{8})\]", listing)


async def tell_all(core: MemoryCore, user: str = "ana", channel: str = "telegram") -> None:
    await core.say(msg(channel, user, "I grew up in Zanzibarquux"))
    await core.say(msg(channel, user, "I play the oboe"))
    await core.say(msg(channel, user, "My brother Bruno lives in Rome"))


def db_bytes(path: Path) -> bytes:
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def test_forget_id_removes_the_text_from_the_file_fts_and_wal(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain(FACTS, chat_reply="Noted.")
    path = tmp_path / "k.db"
    async with memory_core(path, url) as core:
        await tell_all(core)
        dm = ConversationKey("kith", "telegram", "dm-ana")
        await core.store.set_summary(dm, 0, "Ana told me she grew up in Zanzibarquux.", 1,
                                     Origin.KITH)
        assert "Zanzibarquux" in (await core.store.conversation(dm)).summary
        core.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert b"Zanzibarquux" in db_bytes(path)  # the check can fail: the text was there
        assert b"zanzibarquux" in db_bytes(path)  # and its FTS term
        listing = await core.say(msg("telegram", "ana", "/memory"))
        target = next(i for i in ids_in(listing) if i in listing.split("Zanzibarquux")[0][-40:])
        assert await core.say(msg("telegram", "ana", f"/forget {target}")) == \
            f"Done: I forgot {target}."
        hits = core.store.db.execute(
            "SELECT count(*) FROM memory_term_instances WHERE term LIKE '%zanzibarquux'"
        ).fetchone()[0]
        after = await core.say(msg("telegram", "ana", "/memory"))
        summary = (await core.store.conversation(dm)).summary  # it retold the fact: gone too
        core.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = db_bytes(path)
    assert hits == 0 and "Zanzibarquux" not in after and "Plays the oboe" in after
    assert summary == ""
    assert b"Zanzibarquux" not in raw and b"zanzibarquux" not in raw
    assert b"Plays the oboe" in raw


async def test_forget_text_asks_first_then_deletes_only_the_matches(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain(FACTS)
    async with memory_core(tmp_path / "k.db", url) as core:
        await tell_all(core)
        nothing = await core.say(msg("telegram", "ana", "/forget yes"))
        assert nothing.startswith("There is nothing waiting")
        ask = await core.say(msg("telegram", "ana", "/forget oboe"))
        assert "Plays the oboe" in ask and "/forget yes" in ask and "Bruno" not in ask
        assert "Plays the oboe" in await core.say(msg("telegram", "ana", "/memory"))
        done = await core.say(msg("telegram", "ana", "/forget yes"))
        assert done.startswith("Done: I deleted ") and "mentioning 'oboe'" in done
        listing = await core.say(msg("telegram", "ana", "/memory"))
        assert "oboe" not in listing and "Bruno" in listing
        assert "no memory matching" in await core.say(msg("telegram", "ana", "/forget tuba"))
        assert "all 2 memories" in await core.say(msg("telegram", "ana", "/forget all"))
        assert "(0)" in await core.say(msg("telegram", "ana", "/memory"))


async def test_forget_id_of_someone_else_deletes_nothing(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain(FACTS)
    async with memory_core(tmp_path / "k.db", url) as core:
        await tell_all(core, "ana")
        theirs = ids_in(await core.say(msg("telegram", "ana", "/memory")))
        for memory_id in theirs:
            answer = await core.say(msg("telegram", "bob", f"/forget {memory_id}"))
            assert answer == f"You have no memory {memory_id}."
        assert ids_in(await core.say(msg("telegram", "ana", "/memory"))) == theirs


async def test_export_is_complete_and_only_the_persons_own_data(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({**FACTS, "secret": memories_json(item("Bob's secret is parsnips"))})
    async with memory_core(tmp_path / "k.db", url) as core:
        await tell_all(core, "ana")
        await core.say(msg("telegram", "ana", "/prefs timezone Europe/Lisbon"))
        await core.say(msg("telegram", "bob", "my secret is parsnips", name="Bob"))
        group = dict(chat="g1", group=True)
        await core.say(msg("telegram", "bob", "hello group, parsnips!", **group))
        await core.say(msg("telegram", "ana", "hello everyone", **group))
        data = json.loads(await core.say(msg("telegram", "ana", "/export")))
    assert data["format"] == "kith-export/1"
    assert [i["platform_id"] for i in data["identities"]] == ["ana"]
    assert {m["text"] for m in data["memories"]} == {
        "Grew up in Zanzibarquux", "Plays the oboe", "Brother Bruno lives in Rome"}
    assert all(m["source"]["channel"] == "telegram" and m["source"]["message"]
               for m in data["memories"])
    assert data["preferences"][0]["key"] == "timezone"
    texts = [m["text"] for m in data["messages"]]
    assert "I play the oboe" in texts and "hello everyone" in texts
    assert "parsnips" not in json.dumps(data)


async def test_private_controls_are_refused_in_groups(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain(FACTS)
    async with memory_core(tmp_path / "k.db", url) as core:
        await tell_all(core, "ana")
        for command in ("/memory", "/export", "/link", "/forget oboe", "/forget all"):
            answer = await core.say(msg("telegram", "ana", command, chat="g1", group=True))
            assert "direct chat" in answer and "oboe" not in answer and "code" not in answer
        assert "Plays the oboe" in await core.say(msg("telegram", "ana", "/memory"))


async def test_link_codes_refuse_wrong_expired_reused_same_and_other_person(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain(FACTS)
    async with memory_core(tmp_path / "k.db", url) as core:
        await tell_all(core, "ana-tg", "telegram")
        wrong = await core.say(msg("whatsapp", "ana-wa", "/link ZZZZZZZZ"))
        assert wrong == "That code is not valid."

        expired = code_of(await core.say(msg("telegram", "ana-tg", "/link")))
        core.clock.advance(minutes=11)
        assert "expired" in await core.say(msg("whatsapp", "ana-wa", f"/link {expired}"))

        same = code_of(await core.say(msg("telegram", "ana-tg", "/link")))
        assert "already linked" in await core.say(msg("telegram", "ana-tg", f"/link {same}"))

        # another person: a second telegram account cannot be the same person's other account
        other = code_of(await core.say(msg("telegram", "ana-tg", "/link")))
        refused = await core.say(msg("telegram", "mallory", f"/link {other}"))
        assert "two different people" in refused
        assert "already used" in await core.say(msg("whatsapp", "ana-wa", f"/link {other}"))
        assert "Zanzibarquux" not in await core.say(msg("telegram", "mallory", "/memory"))

        good = code_of(await core.say(msg("telegram", "ana-tg", "/link")))
        assert (await core.say(msg("whatsapp", "ana-wa", f"/link {good.lower()}"))).startswith(
            "Linked")
        reused = await core.say(msg("whatsapp", "eve", f"/link {good}"))
        assert "already used" in reused
        assert "Zanzibarquux" not in await core.say(msg("whatsapp", "eve", "/memory"))
        assert "Zanzibarquux" in await core.say(msg("whatsapp", "ana-wa", "/memory"))


async def test_unlink_splits_the_identity_with_what_was_learned_there(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain(FACTS)
    async with memory_core(tmp_path / "k.db", url) as core:
        assert "isn't linked" in await core.say(msg("telegram", "ana-tg", "/unlink"))
        await core.say(msg("telegram", "ana-tg", "I grew up in Zanzibarquux"))
        await core.say(msg("whatsapp", "ana-wa", "I play the oboe"))
        code = code_of(await core.say(msg("telegram", "ana-tg", "/link")))
        await core.say(msg("whatsapp", "ana-wa", f"/link {code}"))
        both = await core.say(msg("telegram", "ana-tg", "/memory"))
        assert "Zanzibarquux" in both and "oboe" in both
        assert (await core.say(msg("whatsapp", "ana-wa", "/unlink"))).startswith("Unlinked")
        tg = await core.say(msg("telegram", "ana-tg", "/memory"))
        wa = await core.say(msg("whatsapp", "ana-wa", "/memory"))
        await core.say(msg("whatsapp", "ana-wa", "Where did I grow up, Zanzibarquux?"))
    assert "Zanzibarquux" in tg and "oboe" not in tg
    assert "oboe" in wa and "Zanzibarquux" not in wa
    assert "Grew up in Zanzibarquux" not in chat_prompts(fake)[-1]


async def test_memory_edit_and_private_change_it_in_place_and_the_old_words_leave_the_file(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"oboe": memories_json(item("Plays the oboe", scope="shared"))})
    path = tmp_path / "k.db"
    async with memory_core(path, url) as core:
        await core.say(msg("telegram", "ana", "I play the oboe"))
        [target] = ids_in(await core.say(msg("telegram", "ana", "/memory")))
        assert "(shared)" in await core.say(msg("telegram", "ana", "/memory"))
        edited = await core.say(msg("telegram", "ana", f"/memory edit {target} Plays the bassoon"))
        assert edited.startswith(f"Done: [{target}] Plays the bassoon") and "(shared)" in edited
        private = await core.say(msg("telegram", "ana", f"/memory private {target}"))
        assert "(private)" in private
        assert "no memory" in await core.say(msg("telegram", "bob", f"/memory private {target}"))
        assert "Usage" in await core.say(msg("telegram", "ana", "/memory edit nonsense"))
        listing = await core.say(msg("telegram", "ana", "/memory"))
        core.store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = db_bytes(path)
    assert "Plays the bassoon" in listing and "(private)" in listing
    assert b"Plays the oboe" not in raw and b"Plays the bassoon" in raw
