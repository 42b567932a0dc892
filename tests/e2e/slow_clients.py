"""Hostile slow clients, as a separate process: ``python -m tests.e2e.slow_clients PORT N
SECONDS SOURCES``. N connections to 127.0.0.1:PORT from SOURCES loopback addresses
(127.0.0.2, 127.0.0.3, ...; a third from the first two) that never finish: a third
send nothing, a third send their headers a byte every second, a third send headers and
then a body a byte every second.
A connection the server closes is opened again at once, for SECONDS. Prints a JSON
summary: connections opened, closed by the server, and the longest any one of each
shape stayed open."""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import sys
import time

HEADERS = b"POST /hooks/kith/telegram HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: " \
          b"application/json\r\ncontent-length: 100000\r\nx-slow: "


class Tally:
    def __init__(self) -> None:
        self.opened = self.closed = self.refused = 0
        self.longest = [0.0, 0.0, 0.0]  # by shape


async def one(port: int, source: str, shape: int, until: float, tally: Tally) -> None:
    while time.monotonic() < until:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port,
                                                           local_addr=(source, 0))
        except OSError:
            tally.refused += 1
            await asyncio.sleep(0.2)
            continue
        tally.opened += 1
        began = time.monotonic()
        try:
            writer.write({0: b"", 1: HEADERS, 2: HEADERS + b"x\r\n\r\n"}[shape])
            while time.monotonic() < until:
                writer.write({0: b"", 1: b"a", 2: b" "}[shape])  # one more byte a second
                await writer.drain()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1.0):
                        if await reader.read(1024) == b"":
                            break  # the server closed it
        except OSError:
            pass
        tally.longest[shape] = max(tally.longest[shape], time.monotonic() - began)
        if time.monotonic() < until:
            tally.closed += 1
        writer.close()


def source(n: int, sources: int) -> str:
    """A third of the connections from two addresses (far past the cap per client), the
    rest spread over the others (past the cap in all)."""
    group = n // 3  # every shape from every address
    last = 2 + (group % 2 if group % 3 == 0 else 2 + group % (sources - 2))
    return f"127.0.0.{last}"


async def main(port: int, count: int, seconds: float, sources: int) -> None:
    tally = Tally()
    until = time.monotonic() + seconds
    await asyncio.gather(*(one(port, source(n, sources), n % 3, until, tally)
                           for n in range(count)))
    print(json.dumps({"opened": tally.opened, "closed": tally.closed,
                      "refused": tally.refused, "longest": [round(t, 1) for t in tally.longest]}))


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_NOFILE, (8192, 8192))
    port, count, seconds, sources = sys.argv[1:5]
    asyncio.run(main(int(port), int(count), float(seconds), int(sources)))
