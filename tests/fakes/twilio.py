"""A fake Twilio REST API (Messages + Media) on loopback, speaking Twilio's wire format.

It records every request, checks HTTP basic auth (account SID + auth token) like Twilio,
enforces the 1600-character WhatsApp body limit (error 21617), and answers queued faults:
``Fault(429, retry_after=0)``, ``Fault(500)``, or the 24-hour-window error 63016 — either
synchronously or, as Twilio really does, as a signed ``failed`` status callback::

    fake = FakeTwilio("AC…", "token")
    async with serve_loopback(fake.app()) as base_url:
        ...
        await fake.wait_messages(1)
"""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.utils import formatdate
from urllib.parse import parse_qsl, urlencode

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

BODY_LIMIT = 1600


@dataclass(frozen=True, slots=True)
class Fault:
    status: int = 500
    code: int | None = None  # platform error code (Twilio: 20429, 63016; Graph: 131047)
    retry_after: float | None = None
    via_callback: bool = False  # Twilio: report the error in a status callback


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str] = field(default_factory=dict)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None
           ) -> JSONResponse:
    return JSONResponse({"code": code, "message": message, "status": status,
                         "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                        status_code=status, headers=headers)


class FakeTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.requests: list[Recorded] = []
        self.messages: list[dict[str, str]] = []  # accepted Messages.json form bodies
        self.media: dict[str, tuple[bytes, str]] = {}  # media sid → (content, mime type)
        self.callbacks: list[int] = []  # status codes our status callbacks got back
        self._faults: deque[Fault] = deque()
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()
        self.callback_target: str | None = None  # where callbacks go (public URL is fake)
        self.chunked = False  # media without Content-Length, streamed in 64 KiB pieces
        self.streamed = 0  # media bytes the CDN actually wrote

    def inject(self, fault: Fault) -> None:
        self._faults.append(fault)

    def sign(self, url: str, params: dict[str, str]) -> str:
        return str(RequestValidator(self.auth_token).compute_signature(url, params))

    def media_url(self, base_url: str, message_sid: str, content: bytes, mime: str) -> str:
        media_sid = "ME" + secrets.token_hex(16)
        self.media[media_sid] = (content, mime)
        return (f"{base_url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}"
                f"/Media/{media_sid}")

    async def wait_messages(self, count: int, within: float = 10.0) -> list[dict[str, str]]:
        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.messages) >= count)
        await asyncio.wait_for(enough(), within)
        return self.messages

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _authorized(self, request: Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return request.headers.get("authorization") == f"Basic {expected}"

    def app(self) -> Starlette:
        base = "/2010-04-01/Accounts/{sid}"
        return Starlette(routes=[
            Route(base + "/Messages.json", self._create, methods=["POST"]),
            Route(base + "/Messages/{msg}/Media/{media}", self._media, methods=["GET"]),
            Route("/cdn/{media}", self._cdn, methods=["GET"]),
        ])

    async def _create(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.requests.append(Recorded("POST", request.url.path, dict(request.headers), form))
        if request.path_params["sid"] != self.account_sid or not self._authorized(request):
            return _error(401, 20003, "Authentication Error - invalid username")
        fault = self._faults.popleft() if self._faults else None
        if fault is not None and not fault.via_callback:
            headers = ({"retry-after": str(fault.retry_after)}
                       if fault.retry_after is not None else None)
            return _error(fault.status, fault.code or fault.status * 100, "injected", headers)
        for name in ("To", "From", "Body" if "ContentSid" not in form else "ContentSid"):
            if not form.get(name):
                return _error(400, 21604 if name == "To" else 21602, f"'{name}' is required")
        if len(form.get("Body", "")) > BODY_LIMIT:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 "
                                      "character limit")
        sid = "SM" + secrets.token_hex(16)
        if fault is not None and form.get("StatusCallback"):
            task = asyncio.create_task(self._callback(form, sid, fault))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self.messages.append(form)
            await self._notify()
        return JSONResponse(self._resource(form, sid), status_code=201)

    def _resource(self, form: dict[str, str], sid: str) -> dict[str, object]:
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01",
            "body": form.get("Body", ""), "date_created": formatdate(usegmt=True),
            "date_sent": None, "date_updated": formatdate(usegmt=True),
            "direction": "outbound-api", "error_code": None, "error_message": None,
            "from": form["From"], "messaging_service_sid": None, "num_media": "0",
            "num_segments": "1", "price": None, "price_unit": None, "sid": sid,
            "status": "queued", "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    async def _callback(self, form: dict[str, str], sid: str, fault: Fault) -> None:
        """Report the failure the way Twilio does: a signed status callback."""
        params = {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
            "ChannelPrefix": "whatsapp", "ErrorCode": str(fault.code or 63016),
            "From": form["From"], "MessageSid": sid, "MessageStatus": "failed",
            "SmsSid": sid, "SmsStatus": "failed", "To": form["To"],
        }
        url = form["StatusCallback"]
        async with httpx.AsyncClient() as client:
            response = await client.post(
                self.callback_target or url, content=urlencode(params),
                headers={"content-type": "application/x-www-form-urlencoded",
                         "x-twilio-signature": self.sign(url, params)})
        self.callbacks.append(response.status_code)
        await self._notify()

    async def _media(self, request: Request) -> Response:
        self.requests.append(Recorded("GET", request.url.path, dict(request.headers)))
        if not self._authorized(request):
            return _error(401, 20003, "Authentication Error - invalid username")
        media = request.path_params["media"]
        if media not in self.media:
            return _error(404, 20404, "The requested resource was not found")
        return RedirectResponse(f"/cdn/{media}", status_code=307)

    async def _cdn(self, request: Request) -> Response:
        self.requests.append(Recorded("GET", request.url.path, dict(request.headers)))
        content, mime = self.media.get(request.path_params["media"], (b"", ""))
        if not mime:
            return Response(status_code=404)
        if not self.chunked:
            return Response(content, media_type=mime)

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: sizes unknown
            for start in range(0, len(content), 65536):
                if await request.is_disconnected():
                    return  # the client stopped reading: stop writing, like a CDN
                self.streamed += len(content[start:start + 65536])
                yield content[start:start + 65536]

        return StreamingResponse(chunks(), media_type=mime)
