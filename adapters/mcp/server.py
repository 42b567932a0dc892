"""One MCP server, kept connected: listed at start and on ``tools/list_changed``, restarted
with backoff when it crashes or hangs, each call bounded by the server's timeout.

The SDK's ``Client`` is entered and left in one supervising task (anyio's scopes require
it); calls from turns use the live session from their own tasks. A call on a server that is
down waits a little for it to come back, then fails with :class:`ToolError`, so the turn
answers honestly; a call that times out or loses its connection restarts the server for the
next turn. Nothing here blocks another server, the gateway or the start of Kith.

Kith speaks the handshake-era protocol (``mode="legacy"``), which every server supports;
there, a server announces a changed tool list with ``notifications/tools/list_changed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any, TextIO

import httpx2
import mcp_types as types
from mcp import Client
from mcp.client.session import IncomingMessage
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from adapters.mcp.config import McpServer
from adapters.mcp.tools import as_tool
from core.logging import get_logger
from core.tools.base import Tool, ToolError

log = get_logger("kith.mcp")

BACKOFF_MIN = 0.5
BACKOFF_MAX = 60.0
CONNECT_TIMEOUT = 20.0  # starting a server and its handshake
WAIT_FOR_UP = 10.0  # a call on a server that is restarting waits this long at most
MAX_TOOLS = 200

OnTools = Callable[[str, Sequence[Tool]], None]


class Connection:
    def __init__(self, name: str, config: McpServer, on_tools: OnTools) -> None:
        self.name = name
        self.config = config
        self.on_tools = on_tools
        self.tools: tuple[Tool, ...] = ()
        self.restarts = 0
        self.error = ""  # why the last connection ended, for kith check
        self._client: Client | None = None
        self._up = asyncio.Event()
        self._wake = asyncio.Event()
        self._broken: str | None = None
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self.listed = asyncio.Event()  # the first listing arrived (or the first try failed)

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"mcp-{self.name}")

    async def aclose(self) -> None:
        self._closing = True
        self._restart("closing")
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                try:
                    await asyncio.wait_for(asyncio.shield(self._task), 10)
                except TimeoutError:
                    self._task.cancel()
                    await asyncio.gather(self._task, return_exceptions=True)

    # the supervisor ---------------------------------------------------------------------
    async def _supervise(self) -> None:
        delay = BACKOFF_MIN
        while not self._closing:
            try:
                async with AsyncExitStack() as stack:
                    async with asyncio.timeout(CONNECT_TIMEOUT):  # in this task: anyio
                        client = await self._connect(stack)  # scopes must exit here too
                        await self._list(client)
                    self._client = client
                    self._up.set()
                    delay = BACKOFF_MIN
                    log.info("mcp_up", server=self.name, tools=len(self.tools))
                    await self._serve(client)
            except Exception as err:  # a broken server must never stop the supervisor
                self.error = _describe(err)
                log.warning("mcp_down", server=self.name, error=self.error)
            finally:
                self._client = None
                self._up.clear()
                self.listed.set()
            if self._closing:
                break
            self.restarts += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, BACKOFF_MAX)

    async def _connect(self, stack: AsyncExitStack) -> Client:
        self._broken = None
        self._wake.clear()
        if self.config.command is not None:
            program, *args = self.config.command
            target: Any = stdio_client(
                StdioServerParameters(command=program, args=args,
                                      env=self.config.environment()),
                errlog=_errlog())
        else:
            assert self.config.url is not None
            http = await stack.enter_async_context(httpx2.AsyncClient(
                headers=self.config.headers(), timeout=httpx2.Timeout(30.0, read=300.0)))
            target = streamable_http_client(self.config.url, http_client=http)
        client = Client(target, mode="legacy", message_handler=self._on_message, cache=None)
        return await stack.enter_async_context(client)

    async def _serve(self, client: Client) -> None:
        """Until the connection breaks: refresh the tools whenever the server says so."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._broken is not None:
                log.info("mcp_restarting", server=self.name, reason=self._broken)
                return
            async with asyncio.timeout(self.config.timeout):
                await self._list(client)

    async def _list(self, client: Client) -> None:
        listed: list[types.Tool] = []
        cursor: str | None = None
        for _page in range(20):
            page = await client.list_tools(cursor=cursor)
            listed.extend(page.tools)
            cursor = page.next_cursor
            if not cursor or len(listed) >= MAX_TOOLS:
                break
        tools: dict[str, Tool] = {}
        for remote in listed[:MAX_TOOLS]:
            tool = as_tool(self.name, self.config, remote, self.call)
            if tool is None:
                log.warning("mcp_tool_skipped", server=self.name, tool=remote.name[:64],
                            reason="its input schema is not a valid JSON Schema object")
            elif tool.name not in tools:
                tools[tool.name] = tool
        self.tools = tuple(tools.values())
        self.on_tools(self.name, self.tools)
        self.listed.set()

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, types.ToolListChangedNotification):
            self._wake.set()
        elif isinstance(message, Exception):
            log.info("mcp_transport_error", server=self.name, error=_describe(message))

    def _restart(self, reason: str) -> None:
        self._broken = reason
        self._wake.set()

    # calls ----------------------------------------------------------------------------
    async def call(self, tool: str, arguments: dict[str, Any]) -> types.CallToolResult:
        client = self._client
        if client is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), min(WAIT_FOR_UP, self.config.timeout))
            client = self._client
        if client is None:
            raise ToolError(f"the {self.name} server is not running right now (I am "
                            "restarting it); tell the person and try again later")
        try:
            async with asyncio.timeout(self.config.timeout):
                return await client.call_tool(tool, arguments)
        except TimeoutError:
            log.warning("mcp_call_timeout", server=self.name, tool=tool[:64])
            self._restart("a call timed out")
            raise ToolError(f"the {self.name} server did not answer within "
                            f"{self.config.timeout:g} s; it is being restarted") from None
        except MCPError as err:
            if self._client is not client or _lost(err):
                self._restart("the connection was lost")
                raise ToolError(f"the {self.name} server stopped during the call; it is "
                                "being restarted, so the action may or may not have "
                                "happened") from None
            raise ToolError(f"the {self.name} server refused the call: "
                            f"{str(err)[:300]}") from None
        except (OSError, httpx2.HTTPError) as err:
            self._restart("the connection failed")
            raise ToolError(f"the {self.name} server could not be reached "
                            f"({_describe(err)})") from None
        except Exception as err:  # an answer the SDK could not read: garbage
            log.warning("mcp_bad_answer", server=self.name, tool=tool[:64],
                        error=_describe(err))
            raise ToolError(f"the {self.name} server gave an answer I cannot read") from None


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: Kith's own, when it is a real file."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.fileno()
                return stream
        except (OSError, ValueError, io.UnsupportedOperation):
            continue
    return open(os.devnull, "w")  # lives as long as the process


def _lost(err: MCPError) -> bool:
    """The connection ended under the call (a crashed process, a dropped HTTP stream)."""
    return err.code == types.CONNECTION_CLOSED


def _describe(err: BaseException) -> str:
    if isinstance(err, BaseExceptionGroup):
        return "; ".join(_describe(e) for e in err.exceptions)[:300]
    return f"{type(err).__name__}: {err}"[:300]
