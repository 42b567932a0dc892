"""A fake Meta Graph API for WhatsApp Cloud on loopback: messages, mark-as-read, media.

Checks the bearer token, enforces the 4096-character text limit (error 100) and answers
queued faults with Graph-shaped error bodies: ``Fault(429, code=130429, retry_after=0)``,
``Fault(500)``, ``Fault(400, code=131047)`` (the 24-hour re-engagement error)::

    fake = FakeGraph("token", app_secret="secret")
    async with serve_loopback(fake.app()) as base_url:
        ...
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections import deque
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.whatsapp.signatures import hub_signature
from tests.fakes.loopback import serve_loopback
from tests.fakes.twilio import Fault, Recorded

__all__ = ["FakeGraph", "Fault", "serve_loopback"]

TEXT_LIMIT = 4096
_MESSAGES = {
    130429: "(#130429) Rate limit hit",
    131047: "(#131047) Re-engagement message",
    190: "Invalid OAuth access token - Cannot parse access token",
    100: "(#100) Invalid parameter",
}


def graph_error(status: int, code: int, headers: dict[str, str] | None = None) -> JSONResponse:
    error: dict[str, Any] = {"message": _MESSAGES.get(code, "An unknown error occurred"),
                             "type": "OAuthException", "code": code,
                             "fbtrace_id": secrets.token_urlsafe(12)}
    if code == 131047:
        error["error_data"] = {
            "messaging_product": "whatsapp",
            "details": "Message failed to send because more than 24 hours have passed "
                       "since the customer last replied to this number.",
        }
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _reply_buttons(inter: Any) -> str | None:
    """The body text of a valid ``interactive`` reply-button message, else None (error 100):
    1-3 buttons, unique ids of at most 256 characters, unique titles of 1-20 characters,
    a body of 1-1024 characters."""
    if not isinstance(inter, dict) or inter.get("type") != "button":
        return None
    text = (inter.get("body") or {}).get("text") if isinstance(inter.get("body"), dict) else None
    found = (inter.get("action") or {}).get("buttons") if isinstance(
        inter.get("action"), dict) else None
    if not isinstance(text, str) or not 1 <= len(text) <= 1024:
        return None
    if not isinstance(found, list) or not 1 <= len(found) <= 3:
        return None
    replies = [b.get("reply") for b in found if isinstance(b, dict) and b.get("type") == "reply"]
    ids = [r.get("id") for r in replies if isinstance(r, dict)]
    titles = [r.get("title") for r in replies if isinstance(r, dict)]
    if len(ids) != len(found) or len(set(map(str, ids))) != len(ids) or \
            len(set(map(str, titles))) != len(titles):
        return None
    if not all(isinstance(i, str) and 1 <= len(i) <= 256 for i in ids):
        return None
    if not all(isinstance(t, str) and 1 <= len(t) <= 20 for t in titles):
        return None
    return text


class FakeGraph:
    def __init__(self, access_token: str, app_secret: str = "", version: str = "v21.0") -> None:
        self.access_token = access_token
        self.app_secret = app_secret
        self.version = version
        self.requests: list[Recorded] = []
        self.messages: list[dict[str, Any]] = []  # accepted message sends (JSON bodies)
        self.reads: list[str] = []  # wamids marked as read
        self.media: dict[str, tuple[bytes, str]] = {}
        self.base_url = ""
        self._faults: deque[Fault] = deque()
        self.cdn_faults: deque[Fault] = deque()  # answered by media downloads, in order
        self._changed = asyncio.Condition()

    def inject(self, fault: Fault) -> None:
        self._faults.append(fault)

    def sign(self, body: bytes) -> str:
        return hub_signature(self.app_secret, body)

    def add_media(self, content: bytes, mime: str) -> str:
        media_id = str(secrets.randbelow(10**15) + 10**15)
        self.media[media_id] = (content, mime)
        return media_id

    async def wait_messages(self, count: int, within: float = 10.0) -> list[dict[str, Any]]:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages) >= count)
        await asyncio.wait_for(enough(), within)
        return self.messages

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/cdn/{media_id}", self._cdn, methods=["GET"]),
            Route("/{version}/{phone}/messages", self._messages, methods=["POST"]),
            Route("/{version}/{media_id}", self._media_meta, methods=["GET"]),
        ])

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.access_token}"

    async def _messages(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        self.requests.append(Recorded("POST", request.url.path, dict(request.headers),
                                      {"json": raw.decode(errors="replace")}))
        if not self._authorized(request):
            return graph_error(401, 190)
        if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100)
        if body.get("status") == "read":
            self.reads.append(str(body.get("message_id")))
            return JSONResponse({"success": True})
        if self._faults:
            fault = self._faults.popleft()
            headers = ({"retry-after": str(fault.retry_after)}
                       if fault.retry_after is not None else None)
            return graph_error(fault.status, fault.code or 1, headers)
        text = body.get("text") if isinstance(body.get("text"), dict) else {}
        content = text.get("body") if isinstance(text, dict) else None
        template = body.get("template") if isinstance(body.get("template"), dict) else {}
        if body.get("type") == "template":  # a pre-approved template: name + language
            content = template.get("name") if isinstance(template.get("language"), dict) \
                else None
        elif body.get("type") == "interactive":  # reply buttons: checked as Graph does
            content = _reply_buttons(body.get("interactive"))
        elif body.get("type") != "text":
            content = None
        if not isinstance(content, str) or not content:
            return graph_error(400, 100)
        if len(content) > TEXT_LIMIT or not str(body.get("to", "")).isdigit():
            return graph_error(400, 100)
        self.messages.append(body)
        async with self._changed:
            self._changed.notify_all()
        to = str(body["to"])
        return JSONResponse({"messaging_product": "whatsapp",
                             "contacts": [{"input": to, "wa_id": to}],
                             "messages": [{"id": "wamid." + secrets.token_urlsafe(24)}]})

    async def _media_meta(self, request: Request) -> Response:
        self.requests.append(Recorded("GET", request.url.path, dict(request.headers)))
        if not self._authorized(request):
            return graph_error(401, 190)
        media_id = request.path_params["media_id"]
        if media_id not in self.media:
            return graph_error(400, 100)
        content, mime = self.media[media_id]
        base = str(request.base_url).rstrip("/")
        return JSONResponse({"messaging_product": "whatsapp", "id": media_id,
                             "url": f"{base}/cdn/{media_id}", "mime_type": mime,
                             "sha256": "0" * 64, "file_size": len(content)})

    async def _cdn(self, request: Request) -> Response:
        self.requests.append(Recorded("GET", request.url.path, dict(request.headers)))
        if not self._authorized(request):
            return Response(status_code=401)
        if self.cdn_faults:
            fault = self.cdn_faults.popleft()
            headers = ({"retry-after": str(fault.retry_after)}
                       if fault.retry_after is not None else None)
            return Response(status_code=fault.status, headers=headers)
        content, mime = self.media.get(request.path_params["media_id"], (b"", ""))
        return Response(content, media_type=mime) if mime else Response(status_code=404)
