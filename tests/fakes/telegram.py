"""A loopback fake of the Telegram Bot API for tests and benchmarks.

A real HTTP server on 127.0.0.1 (uvicorn + Starlette, in the caller's event loop) answering
``/bot<token>/<method>`` the way Telegram does: it parses python-telegram-bot's form-encoded
bodies (and JSON), checks HTML markup like Telegram (unknown or unbalanced tags, bare ``<``/``&``
→ 400 "can't parse entities"), enforces the 4,096-character limit, and returns real Bot API
JSON. Every call is recorded. Faults (429 with ``parameters.retry_after``, 5xx, 400) are
queued per method. Updates are pushed either to the registered webhook (with the secret
header) or to ``getUpdates`` long polling::

    fake = FakeBotAPI()
    async with running_fake_bot_api(fake) as base_url:   # "http://127.0.0.1:PORT/bot"
        ...
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.loopback import serve_loopback

TOKEN = "7000000001:AAFakeTokenForKithTestsOnly_abcdefghijk"
BOT_ID = 7000000001
BOT_USERNAME = "kith_test_bot"
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span",
                "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"}
_MARKUP = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^<>]*)>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);"
                     r"|[<>&]")
_STRINGS = {"text", "url", "secret_token", "caption", "parse_mode", "action",
            "file_id", "description", "short_description"}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200


@dataclass
class Fault:
    status: int
    description: str
    retry_after: int | None = None
    applied: bool = False  # the call takes effect, then its response is lost (a 502 instead)


@dataclass
class Sent:
    chat_id: int
    message_id: int
    text: str  # as Telegram shows it (markup parsed)
    raw: str
    parse_mode: str | None
    reply_to: int | None
    edits: int = 0
    reply_markup: dict[str, Any] | None = None  # inline keyboard, as sent
    at: float = field(default_factory=time.monotonic)  # sent
    updated_at: float = field(default_factory=time.monotonic)  # last edit


class MarkupError(ValueError):
    pass


def visible_text(text: str, parse_mode: str | None) -> str:
    """What Telegram would show for ``text``; MarkupError when Telegram would refuse it."""
    if (parse_mode or "").upper() != "HTML":
        return text
    stack: list[str] = []
    shown: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(text):
        shown.append(text[pos:m.start()])
        pos = m.end()
        offset = len(text[:m.start()].encode())
        if m.group(2):
            tag = m.group(2).lower()
            if tag not in ALLOWED_TAGS:
                raise MarkupError(f'Unsupported start tag "{tag}" at byte offset {offset}')
            if m.group(1):
                if not stack or stack.pop() != tag:
                    raise MarkupError(f'Unexpected end tag at byte offset {offset}')
            else:
                stack.append(tag)
        elif m.group(4):
            shown.append(html.unescape(m.group(0)))
        else:
            raise MarkupError(f"Unsupported start tag at byte offset {offset}"
                              if m.group(0) == "<" else
                              f'Character "{m.group(0)}" is reserved at byte offset {offset}')
    if stack:
        raise MarkupError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    shown.append(text[pos:])
    return "".join(shown)


def _value(name: str, raw: str) -> Any:
    if name in _STRINGS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class FakeBotAPI:
    def __init__(self, token: str = TOKEN, username: str = BOT_USERNAME,
                 bot_id: int = BOT_ID) -> None:
        self.token = token
        self.me = {"id": bot_id, "is_bot": True, "first_name": "Kith", "username": username,
                   "can_join_groups": True, "can_read_all_group_messages": False,
                   "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], Sent] = {}
        self.by_chat: dict[int, list[Sent]] = {}  # append-only, safe to read from a thread
        self.listener: Callable[[int], None] | None = None  # called with the chat id
        self.files: dict[str, bytes] = {}
        self.webhook: dict[str, Any] = {}
        self.webhook_target: str | None = None  # origin that replaces the webhook URL's
        self.commands: list[dict[str, Any]] = []
        self.left: list[int] = []
        self.incoming: dict[tuple[int, int], dict[str, Any]] = {}  # people's messages pushed
        self.deleted: list[tuple[int, int]] = []  # (chat, message) deleteMessage removed
        self.answered: dict[str, str] = {}  # callback query id → the text shown
        self._callbacks = 0
        self._faults: dict[str, deque[Fault]] = {}
        self._next_id: dict[int, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_id = 100_000
        self._changed = asyncio.Condition()
        self.closing = False
        self._client: httpx.AsyncClient | None = None

    # -- test controls -------------------------------------------------------------------

    def inject(self, method: str, status: int, description: str = "",
               retry_after: int | None = None, times: int = 1, applied: bool = False) -> None:
        """The next ``times`` calls of ``method`` fail with ``status``; with ``applied``
        they take effect first (the response was lost after Telegram applied the call)."""
        text = description or ("Too Many Requests: retry after " + str(retry_after)
                               if status == 429 else f"Internal Server Error ({status})")
        queue = self._faults.setdefault(method, deque())
        queue.extend(Fault(status, text, retry_after, applied) for _ in range(times))

    def clear_faults(self) -> None:
        """Drop every queued fault (the platform is back)."""
        self._faults.clear()

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.status == 200]

    def chat_texts(self, chat_id: int) -> list[str]:
        """Current text of each message the bot sent to ``chat_id``, oldest first."""
        return [s.text for (c, _), s in sorted(self.messages.items()) if c == chat_id]

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for (c, _), s in sorted(self.messages.items()) if c == chat_id]

    def next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    async def push(self, update: dict[str, Any]) -> int | None:
        """Deliver an update like Telegram: to the webhook if set (status), else to polling."""
        update.setdefault("update_id", self.next_update_id())
        message = update.get("message")
        if isinstance(message, dict) and "message_id" in message:
            self.incoming[(int(message["chat"]["id"]), int(message["message_id"]))] = message
        if self.webhook.get("url"):
            return await self.post_webhook(update)
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return None

    async def post_webhook(self, update: dict[str, Any], secret: str | None = None) -> int:
        url = self.webhook["url"]
        if self.webhook_target:
            url = self.webhook_target.rstrip("/") + urlsplit(url).path
        headers = {"content-type": "application/json"}
        token = secret if secret is not None else self.webhook.get("secret_token")
        if token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30)
        response = await self._client.post(url, content=json.dumps(update), headers=headers)
        return response.status_code

    async def wait_for(self, check: Callable[[FakeBotAPI], bool], within: float = 20.0) -> None:
        """Wait until ``check(self)`` holds (re-checked after every call); TimeoutError if not."""
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: check(self))
        await asyncio.wait_for(until(), within)

    async def close(self) -> None:
        self.closing = True
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        async with self._changed:
            self._changed.notify_all()

    # -- HTTP ----------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.path_params["method"]
        params = await _params(request)
        call = Call(method, params)
        self.calls.append(call)
        fault = self._faults.get(method)
        if fault:
            f = fault.popleft()
            applier = getattr(self, "api_" + method, None)
            if f.applied and applier is not None:
                await applier(params)
            call.status = f.status
            await self._notify()
            extra = {"parameters": {"retry_after": f.retry_after}} if f.retry_after else {}
            return _error(f.status, f.description, **extra)
        handler = getattr(self, "api_" + method, None)
        if handler is None:
            call.status = 404
            return _error(404, "Not Found")
        try:
            result = await handler(params)
        except _ApiError as err:
            call.status = err.status
            await self._notify()
            return _error(err.status, err.description)
        await self._notify()
        return JSONResponse({"ok": True, "result": result})

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return _error(401, "Unauthorized")
        data = self.files.get(request.path_params["path"])
        return Response(data, media_type="application/octet-stream") if data is not None \
            else _error(404, "Not Found")

    # -- Bot API methods -----------------------------------------------------------------

    async def api_getMe(self, p: dict[str, Any]) -> Any:
        return self.me

    async def api_setMyCommands(self, p: dict[str, Any]) -> Any:
        self.commands = list(p.get("commands") or [])
        return True

    async def api_setWebhook(self, p: dict[str, Any]) -> Any:
        if not str(p.get("url", "")).startswith("https://") and \
                not str(p.get("url", "")).startswith("http://"):
            raise _ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = {"url": p["url"], "secret_token": p.get("secret_token"),
                        "allowed_updates": p.get("allowed_updates")}
        return True

    async def api_deleteWebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = {}
        return True

    async def api_sendChatAction(self, p: dict[str, Any]) -> Any:
        return True

    async def api_leaveChat(self, p: dict[str, Any]) -> Any:
        self.left.append(int(p["chat_id"]))
        return True

    async def api_sendMessage(self, p: dict[str, Any]) -> Any:
        chat_id = int(p["chat_id"])
        text = _check_text(p)
        message_id = self._next_id.get(chat_id, 0) + 1
        self._next_id[chat_id] = message_id
        reply = p.get("reply_parameters") or {}
        markup = p.get("reply_markup")
        if markup is not None and not (isinstance(markup, dict) and all(
                len(str(b.get("callback_data", ""))) <= 64
                for row in markup.get("inline_keyboard", []) for b in row)):
            raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        sent = Sent(chat_id, message_id, text, p["text"], p.get("parse_mode"),
                    reply.get("message_id") if isinstance(reply, dict) else None,
                    reply_markup=markup)
        self.messages[(chat_id, message_id)] = sent
        self.by_chat.setdefault(chat_id, []).append(sent)
        if self.listener is not None:
            self.listener(chat_id)
        return self._message(sent)

    async def api_editMessageText(self, p: dict[str, Any]) -> Any:
        key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
        sent = self.messages.get(key)
        if sent is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        text = _check_text(p)
        if text == sent.text and p["text"] == sent.raw:
            raise _ApiError(400, NOT_MODIFIED)
        sent.text, sent.raw, sent.parse_mode = text, p["text"], p.get("parse_mode")
        sent.edits += 1
        sent.updated_at = time.monotonic()
        if self.listener is not None:
            self.listener(sent.chat_id)
        return self._message(sent)

    async def api_deleteMessage(self, p: dict[str, Any]) -> Any:
        """Telegram's rules, as far as the fake knows them: the message must exist in that
        chat; a bot deletes its own messages, and others' only in a private chat."""
        key = (int(p.get("chat_id", 0)), int(p.get("message_id", 0)))
        if key in self.messages:
            del self.messages[key]
        elif key in self.incoming:
            if self.incoming[key]["chat"].get("type") != "private":
                raise _ApiError(400, "Bad Request: message can't be deleted")
            del self.incoming[key]
        else:
            raise _ApiError(400, "Bad Request: message to delete not found")
        self.deleted.append(key)
        return True

    async def api_getFile(self, p: dict[str, Any]) -> Any:
        file_id = str(p.get("file_id", ""))
        path = f"documents/{file_id}.bin"
        if path not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        if len(self.files[path]) > 20 * 2**20:  # the Bot API hands out files up to 20 MB
            raise _ApiError(400, "Bad Request: file is too big")
        return {"file_id": file_id, "file_unique_id": "u" + file_id,
                "file_size": len(self.files[path]), "file_path": path}

    async def api_getUpdates(self, p: dict[str, Any]) -> Any:
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

        def ready() -> bool:
            return bool(self._updates) or self.closing

        async with self._changed:
            if not ready():
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        return list(self._updates[:100])

    def _message(self, sent: Sent) -> dict[str, Any]:
        chat_type = "private" if sent.chat_id > 0 else "supergroup"
        message: dict[str, Any] = {
            "message_id": sent.message_id, "date": int(time.time()), "from": self.me,
            "chat": {"id": sent.chat_id, "type": chat_type}, "text": sent.text,
        }
        if sent.edits:
            message["edit_date"] = int(time.time())
        if sent.reply_markup is not None:
            message["reply_markup"] = sent.reply_markup
        return message

    # -- inline keyboards --------------------------------------------------------------

    def press(self, sent: Sent, user: dict[str, Any], data: str) -> dict[str, Any]:
        """The ``callback_query`` update Telegram sends when ``user`` presses the button of
        ``sent`` carrying ``data`` (fails when ``sent`` has no such button)."""
        buttons = [b for row in (sent.reply_markup or {}).get("inline_keyboard", [])
                   for b in row]
        assert any(b.get("callback_data") == data for b in buttons), "no such button"
        self._callbacks += 1
        return {"callback_query": {
            "id": f"{4382000000 + self._callbacks}", "from": user,
            "message": self._message(sent), "chat_instance": f"{-8000 - sent.chat_id}",
            "data": data}}

    async def api_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        query = str(p.get("callback_query_id", ""))
        if query in self.answered:
            raise _ApiError(400, "Bad Request: query is too old and response timeout expired "
                                 "or query ID is invalid")
        self.answered[query] = str(p.get("text") or "")
        return True


class _ApiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        self.status = status
        self.description = description


def _check_text(p: dict[str, Any]) -> str:
    if "text" not in p or "chat_id" not in p:
        raise _ApiError(400, "Bad Request: chat_id and text are required")
    try:
        text = visible_text(str(p["text"]), p.get("parse_mode"))
    except MarkupError as err:
        raise _ApiError(400, f"Bad Request: can't parse entities: {err}") from None
    if not text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if len(text) > 4096:
        raise _ApiError(400, "Bad Request: message is too long")
    return text


def _error(status: int, description: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"ok": False, "error_code": status, "description": description, **extra},
                        status_code=status)


async def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = {k: _value(k, v) for k, v in request.query_params.items()}
    body = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind == "application/json" and body:
        params.update(json.loads(body))
    elif kind == "application/x-www-form-urlencoded":
        params.update({k: _value(k, v) for k, v in parse_qsl(body.decode(),
                                                             keep_blank_values=True)})
    elif kind == "multipart/form-data":
        form = await request.form()
        params.update({k: _value(k, v) for k, v in form.items() if isinstance(v, str)})
    return params


def build_app(fake: FakeBotAPI) -> Starlette:
    return Starlette(routes=[
        Route("/bot{token}/{method}", fake.handle, methods=["GET", "POST"]),
        Route("/file/bot{token}/{path:path}", fake.file, methods=["GET"]),
    ])


@asynccontextmanager
async def running_fake_bot_api(fake: FakeBotAPI) -> AsyncIterator[str]:
    """Serve ``fake`` on 127.0.0.1:<free port> in this loop; yields the ``.../bot`` base URL."""
    try:
        async with serve_loopback(build_app(fake)) as base:
            yield f"{base}/bot"
    finally:
        await fake.close()
