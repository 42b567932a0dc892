"""SQLite specifics beyond the contract: migrations, durability, real deletion."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.provenance import Origin
from core.store.features import SQLITE
from core.store.sqlite import SQLiteStore
from tests.contract.test_store_contract import KEY, answer, inbound
from tests.fixtures import schema_main


async def test_data_directory_is_created_and_migrations_recorded(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "deep" / "dir" / "kith.db")
    await store.open()
    await store.close()
    await store.open()  # idempotent
    await store.close()
    db = sqlite3.connect(tmp_path / "deep" / "dir" / "kith.db")
    steps = [tuple(r) for r in db.execute("SELECT feature, version FROM feature_migrations")]
    assert sorted(steps) == sorted((s.feature, s.version) for s in SQLITE)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_forget_leaves_no_trace_in_the_file_or_wal(tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    store = SQLiteStore(path)
    await store.open()
    canary = "my-bank-pin-is-4711-canary"
    item = inbound(1, text=canary)
    await store.record_inbound(item)
    await answer(store, item, reply=f"noted {canary}")
    await store.forget(KEY)
    wal = path.with_name(path.name + "-wal")
    for file in (path, wal):
        if file.exists():
            assert canary.encode() not in file.read_bytes(), file
    await store.close()
    assert canary.encode() not in path.read_bytes()


async def test_turns_kept_before_provenance_get_their_origin(tmp_path: Path) -> None:
    """Upgrading a database from before migration 11: turns that read quoted content were
    quotes, and a summary that covered one of them folded it (it is untrusted)."""
    path = tmp_path / "kith.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, script in enumerate(schema_main.SQLITE[:10], start=1):
        db.executescript(f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version}); "
                         "COMMIT;")
    db.execute("INSERT INTO conversations (key, summary, summary_upto, updated_at) "
               "VALUES (?, 'Ana shared a mail.', 2, '2026-11-26')", (str(KEY),))
    for role, read in (("user", 1), ("assistant", 1), ("user", 0), ("assistant", 0)):
        db.execute("INSERT INTO turns (conversation, epoch, role, text, tokens, created_at, "
                   "read_quoted) VALUES (?, 0, ?, 't', 1, '2026-11-26T09:00:00+00:00', ?)",
                   (str(KEY), role, read))
    db.commit()
    db.close()
    store = SQLiteStore(path)
    await store.open()
    try:
        turns = await store.history(KEY, 0, 10)
        assert [t.origin for t in turns] == [Origin.QUOTE, Origin.QUOTE, Origin.PERSON,
                                             Origin.KITH]
        assert (await store.conversation(KEY)).summary_origin is Origin.QUOTE
    finally:
        await store.close()
