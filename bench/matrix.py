"""Matrix benchmark: messages through a real Synapse, plain and end-to-end encrypted.

    python -m bench.matrix [--messages 40] [--rooms 4] [--quick]

A real Synapse subprocess (SQLite), Kith's Matrix channel and the fake LLM (ttft 0) in this
process, and a human nio client with its own store. Round trip: from the human's send until
the human's client shows the bot's complete reply (first send + final ``m.replace`` edit).
The same round trip with a minimal nio echo bot in place of Kith is the floor (homeserver +
two nio clients); "Kith adds" is the difference. Throughput: ``rooms`` conversations at once.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
import time
from pathlib import Path

from bench.common import ProcessMeter, machine, percentile, print_table
from core.logging import configure
from tests.adapters.matrix.kit import PASSWORD, PASSWORD_ENV, bot_toml, echo
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse, running_synapse
from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.support import make_settings, running_kith, write_bot

_names = itertools.count(1)
WARMUP = 3  # round trips per phase before the clock counts (caches, first-use paths)


async def _person(synapse: Synapse, tmp: Path, prefix: str, sync: bool = True) -> Human:
    name = f"{prefix}{next(_names)}"
    user_id = synapse.register(name, PASSWORD)
    return await Human(synapse.url, user_id, PASSWORD, tmp / name).start(sync=sync)


def _done(person: Human, room_id: str, bot_id: str, text: str) -> bool:
    return text in person.shown(room_id, bot_id).values()


async def _round_trips(person: Human, rooms: list[str], bot_id: str, count: int,
                       tag: str) -> list[float]:
    out = []
    for n in range(count):
        room = rooms[n % len(rooms)]
        body = f"{tag} sequential {n}"
        started = time.perf_counter()
        await person.say(room, body)
        try:
            await person.wait_for(
                lambda r=room, b=body: _done(person, r, bot_id, f"You said: {b}"), 60)
        except TimeoutError:
            raise RuntimeError(f"no reply to {body!r}: {person.shown(room, bot_id)}") from None
        out.append(time.perf_counter() - started)
    return out


async def _throughput(person: Human, rooms: list[str], bot_id: str, count: int,
                      tag: str) -> float:
    bodies = [(rooms[n % len(rooms)], f"{tag} burst {n}") for n in range(count)]
    started = time.perf_counter()
    await asyncio.gather(*(person.say(room, body) for room, body in bodies))
    await person.wait_for(lambda: all(_done(person, r, bot_id, f"You said: {b}")
                                      for r, b in bodies), 300)
    return count / (time.perf_counter() - started)


async def _rooms(person: Human, bot_id: str, count: int, encrypted: bool) -> list[str]:
    rooms = [await person.create_room([bot_id], encrypted=encrypted, direct=True)
             for _ in range(count)]
    for room in rooms:
        await person.wait_joined(room, bot_id)
    return rooms


async def _echo(bot: Human, sender: str) -> None:
    """The floor: a bare nio bot answering every message with one send."""
    handled = [0]
    while True:
        await bot.wait_for(lambda: len(bot.seen) > handled[0], 3600)
        new, handled[0] = bot.seen[handled[0]:], len(bot.seen)
        for seen in new:
            if seen.source.get("sender") == sender and seen.source.get("type") == "m.room.message":
                body = seen.content.get("body", "")
                await bot.client.room_send(seen.room_id, "m.room.message",
                                           {"msgtype": "m.text", "body": f"You said: {body}"},
                                           ignore_unverified_devices=True)


async def _floor(synapse: Synapse, tmp: Path, count: int) -> dict[bool, list[float]]:
    alice = await _person(synapse, tmp, "floor-alice")
    echo = await _person(synapse, tmp, "echo")
    task = asyncio.create_task(_echo(echo, alice.user_id))
    result: dict[bool, list[float]] = {}
    try:
        for encrypted in (False, True):
            room = await alice.create_room([echo.user_id], encrypted=encrypted, direct=True)
            await echo.client.join(room)
            await alice.wait_joined(room, echo.user_id)
            await _round_trips(alice, [room], echo.user_id, WARMUP, f"w{encrypted}")
            result[encrypted] = await _round_trips(alice, [room], echo.user_id, count,
                                                   f"e{encrypted}")
    finally:
        task.cancel()
        await alice.stop()
        await echo.stop()
    return result


async def run(messages: int, rooms: int) -> list[list[object]]:
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        with running_synapse(tmp / "synapse") as synapse:
            floor = await _floor(synapse, tmp, messages)
            fake = FakeLLM(reply=echo, ttft=0.0, record=False)
            async with running_fake_llm(fake) as llm_url:
                alice = await _person(synapse, tmp, "alice")
                bot_id = synapse.register("kithbench", PASSWORD)
                os.environ[PASSWORD_ENV] = PASSWORD
                settings = make_settings(tmp / "kith", llm_url)
                toml = bot_toml(synapse, bot_id, [alice.user_id]).replace(
                    "edit_interval = 0.05", "edit_interval = 1.0")
                write_bot(settings.bots_dir, toml=toml)
                async with running_kith(settings):
                    for encrypted in (False, True):
                        ids = await _rooms(alice, bot_id, rooms, encrypted)
                        await _round_trips(alice, ids, bot_id, WARMUP, f"w{encrypted}")
                        lat = await _round_trips(alice, ids, bot_id, messages, f"k{encrypted}")
                        meter = ProcessMeter()
                        meter.start()
                        rate = await _throughput(alice, ids, bot_id, messages * 2,
                                                 f"k{encrypted}")
                        cpu, wall = meter.stop()
                        base = percentile(floor[encrypted], 50)
                        base99 = percentile(floor[encrypted], 99)
                        rows.append([
                            "e2ee" if encrypted else "plain", messages,
                            f"{base * 1000:.0f}", f"{percentile(lat, 50) * 1000:.0f}",
                            f"{percentile(lat, 99) * 1000:.0f}",
                            f"{(percentile(lat, 50) - base) * 1000:.0f}",
                            f"{(percentile(lat, 99) - base99) * 1000:.0f}",
                            f"{rate:.1f}", f"{cpu / wall * 100:.0f}"])
                await alice.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=40)
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    configure("WARNING")
    print(machine())
    rows = asyncio.run(run(10 if args.quick else args.messages, args.rooms))
    print_table(
        "Matrix through a real Synapse (fake LLM ttft 0; round trip = send → reply shown)",
        ["room", "msgs", "floor p50 ms", "p50 ms", "p99 ms", "Kith adds p50 ms",
         "Kith adds p99 ms", "burst msg/s", "bench proc CPU %"], rows)


if __name__ == "__main__":
    main()
