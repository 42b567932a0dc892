"""The SDK-built MCP server of tests/fakes/mcp_server.py, over stdio or streamable HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.mcp.config import McpServer

REPO = Path(__file__).parents[3]


def calls(log: Path) -> list[dict[str, Any]]:
    """What the server did, one entry per call that reached it."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def stdio_config(log: Path, **kw: Any) -> McpServer:
    return McpServer(command=[sys.executable, "-m", "tests.fakes.mcp_server", "stdio"],
                     env={"PYTHONPATH": str(REPO), "MCP_LOG": str(log)}, **kw)


@dataclass
class HttpServer:
    log: Path
    token: str = ""
    port: int = 0
    process: subprocess.Popen[str] | None = None
    url: str = ""

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "MCP_LOG": str(self.log),
               "MCP_TOKEN": self.token}
        argv = [sys.executable, "-m", "tests.fakes.mcp_server", "http"]
        self.process = subprocess.Popen([*argv, *([str(self.port)] if self.port else [])],
                                        stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # READY http://127.0.0.1:PORT/mcp
        assert line.startswith("READY "), line
        self.url = line.split()[1]
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def wait_dead(self, bound: float = 30.0) -> None:
        assert self.process is not None
        deadline = time.monotonic() + bound
        while self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.process.poll() is not None

    def config(self, **kw: Any) -> McpServer:
        return McpServer(url=self.url, **kw)


@contextmanager
def http_server(log: Path, token: str = "") -> Iterator[HttpServer]:
    server = HttpServer(log, token)
    server.start()
    try:
        yield server
    finally:
        server.stop()
