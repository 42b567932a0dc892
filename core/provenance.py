"""Where a piece of text the model reads came from.

Everything the model sees in one call — turns, the summary, recalled items, tool results —
has an origin. Only the person's own words and Kith's own records of them are trusted; any
other origin is data: it is never learned as the person's and gives the context it sits in
no power to act without the person's approval.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.events import Inbound


class Origin(StrEnum):
    PERSON = "person"  # the person's own words
    KITH = "kith"  # Kith's own records of the person (their reminders, lists, memories)
    QUOTE = "quote"  # a quoted or forwarded message: someone else's words
    OTHER = "other"  # another member of a group
    WEB = "web"  # a web page or search result
    MCP = "mcp"  # a result from one of the owner's MCP servers
    MEDIA = "media"  # a transcript or description of someone else's media
    CALENDAR = "calendar"  # events on a calendar: invitations carry other people's words

    @property
    def trusted(self) -> bool:
        return self in (Origin.PERSON, Origin.KITH)


@dataclass(frozen=True, slots=True)
class Taint:
    """The trust of one model call's whole context: the untrusted origins anywhere in it.

    The prompt builder computes it from everything the call reads (the summary, the turns
    in the history window, recalled items, the new message); the tool loop adds the origin
    of every untrusted tool result, so such a result taints the rest of its turn. The tool
    policy is decided from this one value, never from the newest message alone.
    """

    untrusted: frozenset[Origin] = frozenset()

    @property
    def trusted(self) -> bool:
        return not self.untrusted

    def add(self, *origins: Origin) -> Taint:
        more = frozenset(o for o in origins if not o.trusted)
        return self if more <= self.untrusted else Taint(self.untrusted | more)

    def first(self) -> Origin | None:
        """One untrusted origin (a stable pick, for records and logs), or None."""
        return min(self.untrusted) if self.untrusted else None


def message_origin(inbound: Inbound) -> Origin:
    """Where the new message's words came from, as far as the adapter could tell.

    Words the person forwarded or quoted ride in ``Inbound.quoted``. Every email turn is a
    forwarded mail, whether or not the email adapter has moved the mail into ``quoted``.
    """
    if inbound.quoted or inbound.conversation.channel == "email":
        return Origin.QUOTE
    return Origin.PERSON


def replies_to_third_party(inbound: Inbound) -> bool:
    """The answer is written for someone other than the person: the email channel's reply
    is a draft addressed to the forwarded mail's sender (``reply.eml``)."""
    return inbound.conversation.channel == "email"
