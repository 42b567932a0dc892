"""Approval controls on the web chat: the page lists the session's open proposals
(``GET /chat/{bot}/proposals?session=``) and shows Yes / No buttons under them; a press is
sent as a message carrying ``"decision": {"action": ID, "approve": true|false}``.

The web chat speaks for its owner only (a token off loopback, same-origin POSTs); the core
still decides a press only for the action's person, in the session it was proposed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from adapters.base import ChannelContext
from core.events import ConversationKey, Decision, Sender

_ACTION = re.compile(r"^a[0-9a-f]{11}$")
_SESSION = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def decision_of(body: dict[str, object]) -> Decision | str | None:
    """The decision a ``POST /send`` body carries: None when it carries none, a string
    saying why it is malformed (pure)."""
    raw = body.get("decision")
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("approve"), bool):
        return "decision must be {action, approve}"
    action = raw.get("action")
    if not isinstance(action, str) or not _ACTION.match(action):
        return "decision.action is not an action id"
    return Decision(action, bool(raw["approve"]))


def proposals_route(ctx: ChannelContext, owner: Sender,
                    refuse: Callable[[Request], Response | None]) -> Route:
    async def proposals(request: Request) -> Response:
        if (refused := refuse(request)) is not None:
            return refused
        session = request.query_params.get("session", "")
        if not _SESSION.match(session):
            return JSONResponse({"error": "session is missing or malformed"}, status_code=400)
        person = await ctx.store.person_for(owner.identity_space("web"), owner)
        key = ConversationKey(ctx.bot.name, "web", session)
        waiting = await ctx.store.actions.proposals(key, person)
        now = datetime.now(UTC)  # an expired proposal is answered by nothing: not shown
        return JSONResponse([{"action": a.id, "summary": a.summary, "reason": a.reason}
                             for a in reversed(waiting) if a.expires_at > now],
                            headers={"cache-control": "no-store"})

    return Route(f"/chat/{ctx.bot.name}/proposals", proposals, methods=["GET"])
