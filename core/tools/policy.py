"""Which tools one model call may use (pure), decided from the trust of its whole context.

``taint`` (:class:`core.provenance.Taint`) names the untrusted origins anywhere in what the
call reads — the history window and the summary included, and every untrusted tool result of
the turn so far — not only the newest message. In an untrusted context:

- side-effect tools are offered, and every call of one is *proposed* to the person, not
  done (:mod:`core.tools.acts`; refused outright with ``approvals = "never"``);
- a turn whose answer is addressed to someone other than the person (the email channel's
  ready-to-send reply.eml) gets no tools at all, reading ones included: whatever a tool
  reveals would land in a draft for the third party, and there the person's private lists
  and reminders have no place.
"""

from __future__ import annotations

from core.events import Inbound, Trust
from core.provenance import Taint, replies_to_third_party
from core.tools.base import Tool, Who


def may_use(tool: Tool, inbound: Inbound, taint: Taint) -> bool:
    if not taint.trusted and replies_to_third_party(inbound):
        return False
    who = tool.policy.who
    if who is Who.OWNER:
        return inbound.trust is Trust.OWNER
    if who is Who.ALLOWED:
        return inbound.trust in (Trust.OWNER, Trust.ALLOWED)
    return True  # unknown senders never reach the model (pairing comes first)
