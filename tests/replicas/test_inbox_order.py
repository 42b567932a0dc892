"""Within a conversation the inbox's ``seq`` order is commit order on PostgreSQL.

A sequence hands out numbers at insert, not at commit: without the conversation's lock, a
message inserted later but committed first would be visible alone, and the replica that
holds the turn would answer it before the earlier one. The test makes the earlier insert
slow to commit (a trigger that sleeps, in this test's own database) and watches what a
reader sees meanwhile.
"""

from __future__ import annotations

import asyncio

import psycopg

from core.store.postgres.store import PostgresStore
from tests.core.harness import message

SLOW_TRIGGER = """
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id LIKE '%:slow' THEN PERFORM pg_sleep(0.6); END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER slow_commit AFTER INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION slow_commit();
"""


async def test_a_later_message_is_never_visible_before_an_earlier_one(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    await store.open()
    try:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(SLOW_TRIGGER)
        first = message("c", 1, id="test:kith:c:1:slow")
        second = message("c", 2)
        key = str(first.conversation)
        slow = asyncio.create_task(store.record_inbound(first))
        await asyncio.sleep(0.15)  # the first insert has its row and sleeps before commit
        fast = asyncio.create_task(store.record_inbound(second))
        seen: list[list[str]] = []
        while not (slow.done() and fast.done()):
            seen.append([m.id for m in await store.open_in(key)])
            await asyncio.sleep(0.02)
        assert await slow and await fast
        final = [m.id for m in await store.open_in(key)]
    finally:
        await store.close()
    assert final == [first.id, second.id], key
    assert [second.id] not in seen, "the later message was visible before the earlier one"
    assert all(ids == [first.id, second.id][:len(ids)] for ids in seen), seen
