"""Serve an ASGI app on 127.0.0.1:<free port> inside the current event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn


class _QuickServer(uvicorn.Server):
    """Checks for exit every 10 ms instead of 100 ms, so fixtures tear down quickly."""

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            await asyncio.sleep(0.01)


@asynccontextmanager
async def serve_loopback(
    app: Any, *, lifespan: Literal["on", "off"] = "off"
) -> AsyncIterator[str]:
    """Yields the base URL (``http://127.0.0.1:PORT``) while ``app`` is served."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = _QuickServer(uvicorn.Config(app, log_config=None, access_log=False,
                                         lifespan=lifespan, backlog=2048,
                                         timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
