"""A real MCP server built with the official SDK (``MCPServer``), for tests and bench.

``python -m tests.fakes.mcp_server stdio`` speaks over stdin/stdout;
``python -m tests.fakes.mcp_server http [PORT]`` serves streamable HTTP on 127.0.0.1 (a
free port unless given) and prints ``READY http://127.0.0.1:PORT/mcp``. Its tools: a
read-only lookup, a side effect, a slow one, one that kills the server mid-call, and one
that adds a tool and says the list changed; each call is recorded in ``$MCP_LOG`` (one
JSON line).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import ToolAnnotations

NOTES = {"wifi": "The guest wifi password is on the fridge.",
         "boiler": "The boiler is serviced every October by Rui."}

server = MCPServer("home")


def _record(tool: str, **args: Any) -> None:
    path = os.environ.get("MCP_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"tool": tool, "pid": os.getpid(), **args}) + "\n")


@server.tool(description="Look up one of the household notes by its title",
             annotations=ToolAnnotations(read_only_hint=True))
def lookup_note(title: str) -> str:
    _record("lookup_note", title=title)
    if title == "secret":  # what the server got through its environment
        return os.environ.get("HOME_SECRET", "unset")
    return NOTES.get(title.lower(), f"No note called {title!r}.")


@server.tool(description="Switch the lights of a room on or off",
             annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
def set_light(room: str, on: bool = True) -> str:
    _record("set_light", room=room, on=on)
    return f"The {room} light is {'on' if on else 'off'}."


@server.tool(description="Wait a while, then answer", annotations=ToolAnnotations(
    read_only_hint=True))
async def slow_answer(seconds: float) -> str:
    _record("slow_answer", seconds=seconds)
    await asyncio.sleep(seconds)
    return "done waiting"


@server.tool(description="Crash the server in the middle of the call",
             annotations=ToolAnnotations(read_only_hint=True))
def crash() -> str:
    _record("crash")
    sys.stdout.flush()
    os._exit(3)


@server.tool(description="Write garbage into the protocol stream, then answer",
             annotations=ToolAnnotations(read_only_hint=True))
def garble() -> str:
    _record("garble")
    os.write(1, b"}}not json at all{{\n\x00\xff\n")  # stdio: straight into the JSON-RPC stream
    return "answered after the garbage"


@server.tool(description="Add a thermostat tool", annotations=ToolAnnotations(
    read_only_hint=False))
async def add_thermostat(ctx: Context) -> str:
    def thermostat(celsius: float) -> str:
        return f"Set to {celsius} °C."

    server.add_tool(thermostat, description="Set the thermostat")
    await ctx.session.send_tool_list_changed()
    return "added"


def _require_token(app: Any, expected: str) -> Any:
    """401 for any request without ``Authorization: <expected>``."""
    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and dict(scope["headers"]).get(
                b"authorization", b"").decode() != expected:
            await send({"type": "http.response.start", "status": 401, "headers": []})
            await send({"type": "http.response.body", "body": b"no"})
            return
        await app(scope, receive, send)
    return guarded


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "stdio"
    if mode == "stdio":
        server.run("stdio")
        return
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
    port = sock.getsockname()[1]
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    app: Any = server.streamable_http_app(host="127.0.0.1")
    if os.environ.get("MCP_TOKEN"):
        app = _require_token(app, f"Bearer {os.environ['MCP_TOKEN']}")
    print(f"READY http://127.0.0.1:{port}/mcp", flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
