"""Which tools one turn may use (pure)."""

from __future__ import annotations

from core.events import Inbound, Trust
from core.tools.base import Tool, Who


def reads_quoted(inbound: Inbound) -> bool:
    """The turn reads words the person did not write (a forwarded mail, a quoted message).

    ``Inbound.quoted`` carries them. Every email turn is a forwarded mail, whether or not
    the email adapter has moved the mail into ``quoted`` yet.
    """
    return bool(inbound.quoted) or inbound.conversation.channel == "email"


def may_use(tool: Tool, inbound: Inbound) -> bool:
    # side-effect tools are offered on turns that read quoted words too: there every call
    # is proposed to the person, not done (core.actions.runner)
    who = tool.policy.who
    if who is Who.OWNER:
        return inbound.trust is Trust.OWNER
    if who is Who.ALLOWED:
        return inbound.trust in (Trust.OWNER, Trust.ALLOWED)
    return True  # unknown senders never reach the model (pairing comes first)
