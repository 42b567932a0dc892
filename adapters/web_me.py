"""``/me/<bot>``: what Kith knows about the web chat's owner, and one-click control over it.

Every change goes through core/controls.py — the functions the slash commands
use — so forgetting from the page is the same real deletion as ``/forget``. Same auth as
the chat (its ``refuse`` check: token off loopback, same origin); changes must be JSON
POSTs, which a form on another site cannot send.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters import web_assets
from adapters.base import ChannelContext
from core import controls
from core.commands import PREF_KEYS
from core.events import Sender
from core.ids import PersonId
from core.memory.scope import Group, encode_scope, scope_name
from core.schedule.times import say_local
from core.tools.reminders import describe_rule

CONFIRM_ALL = "forget everything"
Refuse = Callable[[Request], Response | None]
Handler = Callable[[Request, PersonId], Awaitable[Response]]


class EditBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class LearningBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool


class ConfirmBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirm: str


class UnlinkBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    platform_id: str


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def knowledge_json(k: controls.Knowledge, me: tuple[str, str], now: datetime) -> dict[str, Any]:
    """The page's view of :class:`controls.Knowledge` (pure)."""
    def memory(known: controls.Known) -> dict[str, Any]:
        m = known.memory
        return {
            "id": m.id, "text": m.text, "kind": m.kind.value, "pref_key": m.pref_key,
            "scope": scope_name(m.scope),
            "group": str(m.scope.conversation) if isinstance(m.scope, Group) else None,
            "expires_at": m.expires_at.isoformat() if m.expires_at else None,
            "confidence": m.confidence,
            "source": {"message": m.source.inbound_id, "channel": m.source.channel,
                       "at": m.source.at.isoformat(), "said": known.said},
        }
    return {
        "learning": k.learning,
        "memories": [memory(x) for x in k.memories],
        "preferences": [{"key": key, "value": k.preferences[key], "about": about}
                        for key, about in PREF_KEYS.items() if key in k.preferences],
        "identities": [{"channel": i.channel, "platform_id": i.platform_id,
                        "display_name": i.display_name,
                        "this": (i.channel, i.platform_id) == me} for i in k.identities],
        "reminders": [{"id": r.id, "kind": r.kind.value, "text": r.text,
                       "when": say_local(r.due_at, r.timezone, now),
                       "repeat": describe_rule(r.rule), "timezone": r.timezone}
                      for r in k.reminders],
        "lists": [{"list": i.list, "item": i.item, "at": i.created_at.isoformat()}
                  for i in k.lists],
    }


class KnowledgePage:
    def __init__(self, ctx: ChannelContext, title: str, owner: Sender, refuse: Refuse) -> None:
        self.ctx = ctx
        self.title = title
        self.owner = owner
        self.refuse = refuse
        self.space = owner.identity_space(ctx.channel)

    def routes(self) -> list[Route]:
        base = f"/me/{self.ctx.bot.name}"
        post: dict[str, Handler] = {
            "/memories/{memory_id}/forget": self.forget,
            "/memories/{memory_id}/edit": self.edit,
            "/memories/{memory_id}/private": self.private,
            "/reminders/{schedule_id}/cancel": self.cancel_reminder,
            "/preferences/{key}/clear": self.clear_pref,
            "/identities/unlink": self.unlink,
            "/learning": self.learning,
            "/forget-everything": self.forget_everything,
        }
        return [
            Route(base, self.page, methods=["GET"]),
            Route(f"{base}/knowledge", self.guard(self.knowledge, json_body=False)),
            Route(f"{base}/export", self.guard(self.export, json_body=False)),
            *[Route(base + path, self.guard(fn), methods=["POST"]) for path, fn in post.items()],
        ]

    def guard(
        self, fn: Handler, json_body: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if (refused := self.refuse(request)) is not None:
                return refused
            if json_body and request.headers.get("content-type", "").split(";")[0] \
                    != "application/json":
                return _error("send JSON", 415)
            person = await self.ctx.store.person_for(self.space, self.owner)
            return await fn(request, person)
        return endpoint

    async def page(self, request: Request) -> Response:
        if (refused := self.refuse(request)) is not None:
            return refused
        bot = self.ctx.bot.name
        return web_assets.page("me.html", TITLE=self.title, BOT=bot,
                               ASSETS=web_assets.assets_path(bot))

    @staticmethod
    async def body(request: Request, model: type[BaseModel]) -> Any:
        try:
            return model.model_validate(json.loads(await request.body() or b"{}"))
        except (ValueError, ValidationError) as err:
            if isinstance(err, ValidationError):
                first = err.errors()[0]
                return f"{'.'.join(str(p) for p in first['loc']) or 'body'}: {first['msg']}"
            return "body is not valid JSON"

    # -- reads -------------------------------------------------------------------------------

    async def knowledge(self, request: Request, person: PersonId) -> Response:
        now = datetime.now(UTC)
        known = await controls.knowledge(self.ctx.controls, person, now)
        me = (self.space, self.owner.platform_id)
        return JSONResponse(knowledge_json(known, me, now), headers={"cache-control": "no-store"})

    async def export(self, request: Request, person: PersonId) -> Response:
        data = await controls.export(self.ctx.controls, person)
        return Response(
            json.dumps(data, ensure_ascii=False, indent=1), media_type="application/json",
            headers={"content-disposition": 'attachment; filename="kith-export.json"',
                     "cache-control": "no-store"},
        )

    # -- changes -----------------------------------------------------------------------------

    async def forget(self, request: Request, person: PersonId) -> Response:
        memory_id = request.path_params["memory_id"]
        count = await controls.forget_memories(self.ctx.controls, person, [memory_id])
        return JSONResponse({"forgotten": count}) if count else _error("no such memory", 404)

    async def edit(self, request: Request, person: PersonId) -> Response:
        body = await self.body(request, EditBody)
        if isinstance(body, str):
            return _error(body)
        try:
            changed = await controls.edit_memory(self.ctx.controls, person,
                                                 request.path_params["memory_id"], body.text,
                                                 datetime.now(UTC))
        except controls.ControlError as err:
            return _error(str(err))
        return JSONResponse({"text": changed.text}) if changed else _error("no such memory", 404)

    async def private(self, request: Request, person: PersonId) -> Response:
        changed = await controls.make_private(self.ctx.controls, person,
                                              request.path_params["memory_id"], datetime.now(UTC))
        if changed is None:
            return _error("no such memory", 404)
        return JSONResponse({"scope": encode_scope(changed.scope)})

    async def cancel_reminder(self, request: Request, person: PersonId) -> Response:
        gone = await controls.cancel_reminder(self.ctx.controls, person,
                                              request.path_params["schedule_id"])
        return JSONResponse({"cancelled": gone.id}) if gone else _error("no such reminder", 404)

    async def clear_pref(self, request: Request, person: PersonId) -> Response:
        key = request.path_params["key"]
        if key not in PREF_KEYS:
            return _error(f"unknown preference {key!r}")
        await self.ctx.controls.set_preference(person, key, None)  # what /prefs KEY - does
        return JSONResponse({"cleared": key})

    async def unlink(self, request: Request, person: PersonId) -> Response:
        body = await self.body(request, UnlinkBody)
        if isinstance(body, str):
            return _error(body)
        identities = await self.ctx.controls.memories.identities(person)
        mine = {(i.channel, i.platform_id) for i in identities}
        if (body.channel, body.platform_id) not in mine:
            return _error("no such linked account", 404)
        if (body.channel, body.platform_id) == (self.space, self.owner.platform_id):
            return _error("this is the account you are using; unlink the other one")
        new_person = await self.ctx.controls.memories.unlink(person, body.channel, body.platform_id)
        if new_person is None:
            return _error("that account is not linked to another", 404)
        return JSONResponse({"unlinked": body.channel})

    async def learning(self, request: Request, person: PersonId) -> Response:
        body = await self.body(request, LearningBody)
        if isinstance(body, str):
            return _error(body)
        await controls.set_learning(self.ctx.controls, person, body.on)
        return JSONResponse({"learning": body.on})

    async def forget_everything(self, request: Request, person: PersonId) -> Response:
        body = await self.body(request, ConfirmBody)
        if isinstance(body, str):
            return _error(body)
        if body.confirm.strip().lower() != CONFIRM_ALL:
            return _error(f"confirm must be {CONFIRM_ALL!r}")
        gone = await controls.forget_everything(self.ctx.controls, person)
        return JSONResponse({"forgotten": gone.memories, "list_items": gone.list_items,
                             "reminders": gone.schedules})
