"""The web chat: a small page on the gateway, a streamed reply, history on reload.

Local by default: the gateway binds 127.0.0.1. Off loopback a token is required
(``KITH_GATEWAY__WEBCHAT_TOKEN``). POSTs must be JSON and same-origin, so another web page
in the person's browser cannot talk to Kith in their name.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import uuid
from collections.abc import AsyncIterator
from importlib import resources

from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adapters.base import ChannelConfig, ChannelContext, ChannelSpec
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.reply import Reply

_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 16_000
OWNER = Sender(platform_id="owner", display_name="You", namespace="local")


class WebConfig(ChannelConfig):
    title: str = Field("Kith", max_length=80)


def to_inbound(bot: str, body: object) -> Inbound | str:
    """Decode a ``POST /send`` body; a string is the reason it was refused (pure)."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    session, text, client_id = body.get("session"), body.get("text"), body.get("id")
    if not isinstance(session, str) or not _SESSION.match(session):
        return "session must be 8-64 letters, digits, - or _"
    if not isinstance(text, str) or not text.strip():
        return "text must be a non-empty string"
    if len(text) > MAX_TEXT:
        return f"text is longer than {MAX_TEXT} characters"
    if client_id is None:
        client_id = uuid.uuid4().hex
    if not isinstance(client_id, str) or not _SESSION.match(client_id):
        return "id must be 8-64 letters, digits, - or _"
    return Inbound(
        id=f"web:{bot}:{session}:{client_id}",
        conversation=ConversationKey(bot, "web", session),
        sender=OWNER,
        text=text.strip(),
        addressed=Addressed.DIRECT,
        trust=Trust.OWNER,
        chat=ChatKind.DIRECT,
    )


class WebChat:
    def __init__(self, ctx: ChannelContext, config: WebConfig) -> None:
        self.ctx = ctx
        self.config = config
        self._waiting: dict[str, asyncio.Queue[str | None]] = {}
        token = ctx.settings.gateway.webchat_token
        self._token = token.get_secret_value() if token else None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        for queue in self._waiting.values():
            queue.put_nowait(None)

    async def deliver(self, inbound: Inbound, reply: Reply) -> None:
        queue = self._waiting.pop(inbound.id, None)
        async for piece in reply:
            if queue is not None:
                queue.put_nowait(piece)
        if queue is not None:
            queue.put_nowait(None)

    def routes(self) -> list[Route]:
        base = f"/chat/{self.ctx.bot.name}"
        return [
            Route(base, self.page, methods=["GET"]),
            Route(f"{base}/history", self.history, methods=["GET"]),
            Route(f"{base}/send", self.send, methods=["POST"]),
        ]

    # -- HTTP ----------------------------------------------------------------------------

    def _refuse(self, request: Request) -> Response | None:
        if self._token is not None:
            given = request.cookies.get("kith_token") or request.headers.get(
                "authorization", ""
            ).removeprefix("Bearer ")
            if not hmac.compare_digest(given.encode(), self._token.encode()):
                return JSONResponse({"error": "a valid token is required"}, status_code=401)
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            return JSONResponse({"error": "cross-origin requests are refused"}, status_code=403)
        return None

    async def page(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None and self._token is not None:
            response: Response = HTMLResponse("", status_code=303,
                                              headers={"location": request.url.path})
            response.set_cookie("kith_token", token, httponly=True, samesite="strict")
            return response
        if (refused := self._refuse(request)) is not None:
            return refused
        html = resources.files("adapters").joinpath("static/webchat.html").read_text("utf-8")
        html = html.replace("{{TITLE}}", self.config.title).replace("{{BOT}}", self.ctx.bot.name)
        return HTMLResponse(html, headers={"content-security-policy": _CSP})

    async def history(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        session = request.query_params.get("session", "")
        if not _SESSION.match(session):
            return JSONResponse({"error": "session is missing or malformed"}, status_code=400)
        key = ConversationKey(self.ctx.bot.name, "web", session)
        turns = await self.ctx.store.history(key, 0, 200)
        return JSONResponse([
            {"role": t.role, "text": t.text, "at": t.created_at.isoformat()} for t in turns
        ])

    async def send(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse({"error": "send JSON"}, status_code=415)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "body is not valid JSON"}, status_code=400)
        inbound = to_inbound(self.ctx.bot.name, body)
        if isinstance(inbound, str):
            return JSONResponse({"error": inbound}, status_code=400)
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._waiting[inbound.id] = queue
        if not await self.ctx.submit(inbound):
            self._waiting.pop(inbound.id, None)
            return JSONResponse({"duplicate": inbound.id}, status_code=409)
        return StreamingResponse(
            _drain(queue), media_type="text/plain; charset=utf-8",
            headers={"x-kith-message-id": inbound.id, "cache-control": "no-store"},
        )


async def _drain(queue: asyncio.Queue[str | None]) -> AsyncIterator[str]:
    while (piece := await queue.get()) is not None:
        yield piece


_CSP = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'"


def build(ctx: ChannelContext, config: WebConfig) -> WebChat:
    return WebChat(ctx, config)


SPEC = ChannelSpec(config=WebConfig, build=build)
