"""Where a piece of text the model reads came from.

Everything the model sees in one call — turns, the summary, recalled items, tool results —
has an origin. Only the person's own words and Kith's own records of them are trusted; any
other origin is data: it is never learned as the person's and gives the context it sits in
no power to act without the person's approval.
"""

from __future__ import annotations

from enum import StrEnum


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
