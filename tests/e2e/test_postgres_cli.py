"""``kith migrate`` and the PostgreSQL settings from the outside: migrations started by three
processes at once on one fresh database are applied once (issue #14, test 5); a wrong URL,
an unreachable server or a missing driver is one line on stderr, exit 2, no password."""

from __future__ import annotations

import subprocess
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from core.store.postgres.migrations import LOCK_KEY, MIGRATIONS
from tests.e2e.procs import KITH, REPO, kith_env, run_kith
from tests.e2e.test_newcomer_errors import one_line
from tests.support import free_port, write_bot

PASSWORD = "hunter2-not-for-logs"


def _waiting_for_the_lock(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND NOT granted AND objid = %s", (LOCK_KEY,)).fetchone()
    return int(row[0]) if row else 0


def test_three_migrations_at_once_apply_once(tmp_path: Path, pg_url: str) -> None:
    write_bot(tmp_path / "bots")
    with psycopg.connect(pg_url, autocommit=True) as holder:
        # hold the migrations' lock until all three wait on it: they really start together
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        procs = [subprocess.Popen([*KITH, "migrate"], cwd=tmp_path, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=kith_env(tmp_path, KITH_DATABASE_URL=pg_url,
                                               KITH_DATA_DIR=str(tmp_path / f"data{n}")))
                 for n in range(3)]
        deadline = time.monotonic() + 60
        while _waiting_for_the_lock(holder) < 3:
            assert time.monotonic() < deadline, [p.poll() for p in procs]
            time.sleep(0.05)
        holder.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        outputs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0], outputs
        names = [str(r[0]) for r in holder.execute("SELECT name FROM feature_migrations")]
    assert sorted(names) == sorted(m.name for m in MIGRATIONS)  # each once
    said = sorted(out.strip() for out, _ in outputs)
    assert said[0].startswith(f"applied {len(MIGRATIONS)} migrations: inbox/1-inbox, ")
    assert said[1:] == ["the database is up to date"] * 2
    assert all(err == "" for _, err in outputs)
    again = run_kith(tmp_path, "migrate", KITH_DATABASE_URL=pg_url)
    assert (again.returncode, again.stdout.strip()) == (0, "the database is up to date")


def test_migrate_without_a_database_url_brings_sqlite_up_to_date(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    done = run_kith(tmp_path, "migrate")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (f"SQLite database {tmp_path / 'data' / 'kith.sqlite3'} "
                                   "is up to date")


def test_a_url_that_is_not_postgresql(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    done = run_kith(tmp_path, "serve", KITH_DATABASE_URL=f"mysql://kith:{PASSWORD}@db/kith")
    line = one_line(done, "KITH_DATABASE_URL: ", "must start with postgresql:// or postgres://")
    assert PASSWORD not in done.stderr + done.stdout, line


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_an_unreachable_database(tmp_path: Path, command: str) -> None:
    write_bot(tmp_path / "bots")
    url = f"postgresql://kith:{PASSWORD}@/kith?host={tmp_path}&port=1"
    done = run_kith(tmp_path, command, KITH_DATABASE_URL=url,
                    KITH_GATEWAY__PORT=str(free_port()))
    one_line(done, f"KITH_DATABASE_URL: cannot connect to the database at {tmp_path}:1/kith")
    assert PASSWORD not in done.stderr + done.stdout


BLOCK_DRIVER = """
    import sys

    class NoDriver:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("psycopg", "psycopg_pool", "pgvector"):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoDriver())
"""


@pytest.mark.parametrize("command", ["migrate", "serve"])
def test_the_postgres_extra_missing(tmp_path: Path, command: str) -> None:
    write_bot(tmp_path / "bots")
    (tmp_path / "nodriver").mkdir()
    (tmp_path / "nodriver" / "sitecustomize.py").write_text(textwrap.dedent(BLOCK_DRIVER))
    done = run_kith(tmp_path, command, KITH_DATABASE_URL="postgresql://kith@/kith",
                    KITH_GATEWAY__PORT=str(free_port()),
                    PYTHONPATH=f"{tmp_path / 'nodriver'}:{REPO}")
    one_line(done, "PostgreSQL driver is not installed", "pip install 'kith[postgres]'")
