"""Kith on PostgreSQL end to end: the web chat's turns live in the database and survive a
restart, and ``kith serve`` on a fresh database migrates it before it answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import psycopg

from core.store.postgres.migrations import MIGRATIONS
from core.store.postgres.store import PostgresStore
from tests.e2e.test_webchat import SESSION, client_, send
from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.replicas.cluster import Cluster
from tests.support import make_settings, running_gateway, running_kith, write_bot


async def test_web_chat_on_postgres_keeps_its_history_in_the_database(
    tmp_path: Path, pg_url: str, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    write_bot(tmp_path / "bots")
    settings = make_settings(tmp_path, url, database_url=pg_url)
    async with running_kith(settings) as kith, running_gateway(kith) as base, \
            client_() as client:
        assert isinstance(kith.store, PostgresStore)
        text, _ = await send(client, base, "my cat is called Miso")
        assert text == "You said: my cat is called Miso"
    async with running_kith(settings) as kith, running_gateway(kith) as base, \
            client_() as client:
        history = (await client.get(f"{base}/chat/kith/history",
                                    params={"session": SESSION})).json()
        assert [(t["role"], t["text"]) for t in history] == [
            ("user", "my cat is called Miso"), ("assistant", "You said: my cat is called Miso")]
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT status FROM inbox")
        assert await cur.fetchall() == [("delivered",)]
    assert not (tmp_path / "data" / "kith.sqlite3").exists()
    assert len(fake.chat_requests) == 1


async def test_serve_migrates_a_fresh_database_at_start(tmp_path: Path, pg_url: str) -> None:
    write_bot(tmp_path / "bots")
    async with running_fake_llm(FakeLLM()) as llm_url:
        cluster = Cluster(tmp_path, pg_url, 1, KITH_LLM__BASE_URLS=llm_url)
        try:
            await cluster.start_all()
            async with httpx.AsyncClient() as client:
                ready = await client.get(f"{cluster.replicas[0].url}/readyz")
                assert ready.status_code == 200, ready.text
        finally:
            await cluster.stop_all()
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT name FROM feature_migrations")
        assert sorted(str(r[0]) for r in await cur.fetchall()) == sorted(m.name for m in MIGRATIONS)
