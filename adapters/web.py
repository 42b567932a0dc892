"""The web chat: a small page on the gateway, a streamed reply, history on reload.

Routes (under ``/chat/{bot}``): ``GET`` the page; ``POST /send`` streams the reply as
``text/plain`` (``x-kith-message-id`` names the message); ``GET /history?session=`` the
conversation's turns; ``GET /reply?session=&id=&wait=`` picks up the reply to one message
(see :meth:`WebChat.reply`) — for a page whose stream was cut before the reply completed.

Local by default: the gateway binds 127.0.0.1. Off loopback a token is required
(``KITH_GATEWAY__WEBCHAT_TOKEN``). POSTs must be JSON and same-origin, so another web page
in the person's browser cannot talk to Kith in their name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator

from pydantic import Field
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from adapters import web_assets
from adapters.base import ChannelConfig, ChannelContext, ChannelSpec
from adapters.kit import attribution
from adapters.web_controls import decision_of, proposals_route
from adapters.web_me import KnowledgePage
from adapters.web_stream import StreamCut, follow
from adapters.webauth import matches, set_token_cookie, token_ok
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Outbound, Sender, Trust
from core.ids import InboundId
from core.logging import get_logger
from core.relay import AlreadySubscribed, ReplyStream, Subscription
from core.reply import Reply
from core.store.base import InboxStatus
from core.text import decode

log = get_logger("kith.web")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_TEXT = 16_000
MAX_WAIT = 30.0  # longest a GET /reply waits
POLL = 0.1
OWNER = Sender(platform_id="owner", display_name="You", namespace="local")


class WebConfig(ChannelConfig):
    title: str = Field("Kith", max_length=80)


def message_id_of(bot: str, session: str, client_id: str) -> InboundId:
    """The page names its message (session and client id): the inbound id is made here."""
    return InboundId(f"web:{bot}:{session}:{client_id}")


def client_id_of(bot: str, session: str, inbound_id: InboundId) -> str:
    """The page's own id of a stored turn's message (its transcript shows it): the inverse
    of :func:`message_id_of`, since a turn keeps only the inbound id."""
    return inbound_id.removeprefix(f"web:{bot}:{session}:")


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
    decision = decision_of(body)  # a press on an approval button (adapters.web_controls)
    if isinstance(decision, str):
        return decision
    own, unsure = attribution.split(text.strip())  # a pasted forward is not theirs
    return Inbound(
        id=message_id_of(bot, session, client_id),
        conversation=ConversationKey(bot, "web", session),
        sender=OWNER,
        text=own,
        quoted=unsure,
        addressed=Addressed.DIRECT,
        trust=Trust.OWNER,
        chat=ChatKind.DIRECT,
        decision=decision,
    )


class WebChat:
    def __init__(self, ctx: ChannelContext, config: WebConfig) -> None:
        self.ctx = ctx
        self.config = config
        token = ctx.settings.gateway.webchat_token
        self._token = token.get_secret_value() if token else None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None  # the relay belongs to the process; it ends the waiting streams

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        """Publish the reply to the request waiting for it, in this process or another
        replica's (``ctx.relay``); the stream always ends, even when the turn raises. The
        store keeps the reply for ``GET /reply``."""
        stream = ReplyStream(self.ctx.relay, inbound.id)
        try:
            async for piece in reply:
                await stream.send(piece)
        finally:
            await stream.end()
        return reply.outbound()

    def routes(self) -> list[Route]:
        base = f"/chat/{self.ctx.bot.name}"
        return [
            Route(base, self.page, methods=["GET"]),
            Route(f"{base}/history", self.history, methods=["GET"]),
            Route(f"{base}/send", self.send, methods=["POST"]),
            Route(f"{base}/reply", self.reply, methods=["GET"]),
            proposals_route(self.ctx, OWNER, self._refuse),
            *web_assets.asset_routes(self.ctx.bot.name),
            *KnowledgePage(self.ctx, self.config.title, OWNER, self._refuse).routes(),
        ]

    # -- HTTP ----------------------------------------------------------------------------

    def _refuse(self, request: Request) -> Response | None:
        if self._token is not None and not token_ok(request, self._token):
            return JSONResponse({"error": "a valid token is required"}, status_code=401)
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            return JSONResponse({"error": "cross-origin requests are refused"}, status_code=403)
        return None

    async def page(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None and self._token is not None:
            if not matches(token, self._token):  # checked before any cookie is set
                return JSONResponse({"error": "a valid token is required"}, status_code=401)
            response: Response = HTMLResponse("", status_code=303,
                                              headers={"location": request.url.path})
            set_token_cookie(response, token, self.ctx.settings.gateway.public_url)
            return response
        if (refused := self._refuse(request)) is not None:
            return refused
        bot = self.ctx.bot
        return web_assets.page(
            "webchat.html", TITLE=self.config.title, BOT=bot.name,
            MODEL=bot.model or self.ctx.settings.llm.model,
            ASSETS=web_assets.assets_path(bot.name),
        )

    async def history(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        session = request.query_params.get("session", "")
        if not _SESSION.match(session):
            return JSONResponse({"error": "session is missing or malformed"}, status_code=400)
        key = ConversationKey(self.ctx.bot.name, "web", session)
        turns = await self.ctx.store.transcript(key, 200)
        return JSONResponse([
            {"role": t.role, "text": t.text, "at": t.created_at.isoformat(),
             "command": t.command, "id": client_id_of(self.ctx.bot.name, session, t.inbound_id)}
            for t in turns
        ], headers={"cache-control": "no-store"})

    async def reply(self, request: Request) -> Response:
        """``GET /chat/{bot}/reply?session=S&id=ID&wait=SECONDS``: the reply to the message the
        page posted with client id ``ID`` in session ``S``, for a page whose ``/send`` stream
        was cut (reload, dropped connection) before the reply completed.

        Waits up to ``wait`` seconds (default 25, at most 30) for the reply, then answers
        ``200 {"status": S, "text": T}``: ``status`` is ``answered``/``delivered`` with the
        full ``text``, ``held`` (no model answered yet; the page was told, and the answer
        comes later: ask again), ``pending`` (still being answered: ask again), ``failed`` or
        ``undeliverable`` (no reply will come). ``404`` when no such message was received.
        """
        if (refused := self._refuse(request)) is not None:
            return refused
        session, client_id = request.query_params.get("session", ""), request.query_params.get(
            "id", "")
        if not _SESSION.match(session) or not _SESSION.match(client_id):
            return JSONResponse({"error": "session and id are required"}, status_code=400)
        try:
            wait = min(MAX_WAIT, max(0.0, float(request.query_params.get("wait", "25"))))
        except ValueError:
            return JSONResponse({"error": "wait must be a number of seconds"}, status_code=400)
        message_id = message_id_of(self.ctx.bot.name, session, client_id)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            state = await self.ctx.store.delivery(message_id)
            if state is None:
                return JSONResponse({"error": "no such message"}, status_code=404)
            ready = state.status not in (InboxStatus.PENDING, InboxStatus.HELD)
            if ready or asyncio.get_running_loop().time() >= deadline:
                return JSONResponse({"status": state.status.value, "text": state.reply},
                                    headers={"cache-control": "no-store"})
            await asyncio.sleep(POLL)

    async def send(self, request: Request) -> Response:
        if (refused := self._refuse(request)) is not None:
            return refused
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return JSONResponse({"error": "send JSON"}, status_code=415)
        try:
            body = json.loads(decode(await request.body()))  # lone surrogates become U+FFFD
        except ValueError:
            return JSONResponse({"error": "body is not valid JSON"}, status_code=400)
        inbound = to_inbound(self.ctx.bot.name, body)
        if isinstance(inbound, str):
            return JSONResponse({"error": inbound}, status_code=400)
        # Subscribe before submitting: the turn may run (and stream) on any replica at once.
        waiting = contextlib.AsyncExitStack()
        try:
            sub = await waiting.enter_async_context(self.ctx.relay.subscribe(inbound.id))
        except AlreadySubscribed:  # the same id again while its reply streams
            return JSONResponse({"duplicate": inbound.id}, status_code=409)
        try:
            accepted = await self.ctx.submit(inbound)
        except BaseException:
            await waiting.aclose()
            raise
        if not accepted:
            await waiting.aclose()
            return JSONResponse({"duplicate": inbound.id}, status_code=409)
        return StreamingResponse(
            self._stream(waiting, sub), media_type="text/plain; charset=utf-8",
            headers={"x-kith-message-id": inbound.id, "cache-control": "no-store"},
        )

    async def _stream(self, waiting: contextlib.AsyncExitStack,
                      sub: Subscription) -> AsyncIterator[str]:
        try:
            async for piece in follow(sub, lambda: self.ctx.store.delivery(sub.inbound_id)):
                yield piece
        except StreamCut as cut:  # the page picks the stored reply up (GET /reply)
            log.warning("web_stream_cut", reason=str(cut), message_id=sub.inbound_id)
            raise
        finally:
            await waiting.aclose()

def build(ctx: ChannelContext, config: WebConfig) -> WebChat:
    return WebChat(ctx, config)


SPEC = ChannelSpec(config=WebConfig, build=build)
