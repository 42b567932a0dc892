"""The person's yes or no to a proposed action.

Only their own words count: a message that forwards or quotes anything is never an answer
(a forwarded "yes" is someone else's), and only proposals made for this person in this
conversation are found — another group member's "yes" finds none. Each proposal is
decided once (a compare-and-set on its state: a double click or a replayed callback finds
it decided), expires (24 h by default), and is checked again when it runs: the tool's own
checks run at that moment (a reminder time must still be ahead, the list still there).
"""

from __future__ import annotations

import json
import re

from pydantic import ValidationError

from core.actions.machine import Decide, Expire, Fail, Refused, step
from core.actions.model import Action, State
from core.actions.store import ActionStore
from core.events import Inbound
from core.logging import get_logger
from core.tools.acts import arguments, perform
from core.tools.base import ToolContext, ToolError
from core.tools.registry import Registry

log = get_logger("kith.actions")
# only words that plainly answer the question asked: an "ok" or "sure" said about something
# else must never approve an action someone else's words asked for
YES = frozenset({"yes", "y", "yes please", "approve", "do it", "👍", "sí", "si", "sim", "oui",
                 "ja", "да"})
NO = frozenset({"no", "n", "no thanks", "decline", "don't", "dont", "drop it", "👎", "não",
                "nao", "non", "nein", "нет"})
NOT_WAITING = ("Nothing here waits for that answer from you: it was answered already, or it is "
               "not yours to answer.")


def parse_answer(text: str) -> bool | None:
    """True for a bare yes, False for a bare no, None for anything else."""
    words = re.sub(r"[.!,\s]+", " ", text.casefold()).strip()
    if words in YES:
        return True
    if words in NO:
        return False
    return None


def answerable(inbound: Inbound) -> bool:
    """The message can be an answer: the person's own words, nothing forwarded or quoted."""
    return not inbound.quoted and inbound.scheduled is None


async def settle(store: ActionStore, tools: Registry, ctx: ToolContext, approve: bool,
                 action_id: str | None = None) -> str | None:
    """Decide the newest proposal(s) for ``ctx``'s person in ``ctx.inbound``'s conversation
    (or the one ``action_id`` names). None: nothing was waiting for an answer."""
    inbound = ctx.inbound
    if not answerable(inbound):
        return None
    unfinished = await store.interrupted(inbound.conversation, ctx.person_id)
    if unfinished:  # approved, then a crash: this is their yes again, resumed
        return "\n".join([await _finish(store, tools, ctx, a) for a in unfinished])
    waiting = await store.proposals(inbound.conversation, ctx.person_id)
    if action_id is not None:
        waiting = [a for a in waiting if a.id == action_id]
    elif waiting:  # a bare yes answers the newest message's proposals
        waiting = [a for a in waiting if a.key.inbound_id == waiting[0].key.inbound_id]
    if not waiting:
        return None
    lines = [await _decide(store, tools, ctx, action, approve)
             for action in sorted(waiting, key=lambda a: a.key)]
    return "\n".join(line for line in lines if line)


async def _decide(store: ActionStore, tools: Registry, ctx: ToolContext, action: Action,
                  approve: bool) -> str:
    now = ctx.clock()
    decided = step(action, Decide(approve, ctx.person_id, ctx.inbound.conversation,
                                  ctx.inbound.sender.platform_id, now))
    if isinstance(decided, Refused):
        if decided.expired:
            expired = step(action, Expire(now))
            if not isinstance(expired, Refused):
                await store.save(expired, State.PROPOSED, False)
            return f"That request expired, so I did nothing: {action.summary}. Ask me again."
        return f"I did nothing: {decided.reason}."
    if not await store.save(decided, State.PROPOSED, False):
        return ""  # answered meanwhile (a double click): that answer stands
    log.info("action_decided", tool=action.tool, approved=approve)
    if not approve:
        return f"OK, I won't: {action.summary}."
    return await _finish(store, tools, ctx, decided)


async def _finish(store: ActionStore, tools: Registry, ctx: ToolContext,
                  decided: Action) -> str:
    """Run an approved action (once: a run interrupted after it began is the tool's to
    repeat safely, or reported as unknown)."""
    action = decided
    tool = tools.get(action.tool)
    try:
        if tool is None:
            raise ToolError(f"this bot no longer has the tool {action.tool}")
        args = arguments(tool, action)
    except (ToolError, ValidationError, json.JSONDecodeError) as err:
        await store.save(_failed(decided, str(err)), State.APPROVED, decided.started)
        return f"I couldn't do it: {action.summary} — {err}"
    try:
        result = await perform(store, decided, tool, ctx, args)
    except ToolError as err:
        return f"I couldn't do it: {action.summary} — {err}"
    return result.notice or f"Done: {action.summary}."


def _failed(action: Action, error: str) -> Action:
    failed = step(action, Fail(error))
    assert not isinstance(failed, Refused)
    return failed
