"""The common event types every channel speaks.

Adapters turn platform payloads into :class:`Inbound`; the core answers with text that
adapters render as :class:`Outbound`. Everything here is a frozen value: no live objects,
no platform types, no magic metadata keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# ConversationKey lives in core.ids; re-exported here, where most code imports it from
from core.ids import ConversationKey as ConversationKey
from core.ids import InboundId, PlatformMessageId
from core.text import valid


class Addressed(StrEnum):
    """Why the bot should answer this message; ``NONE`` means context only."""

    DIRECT = "direct"  # a one-to-one chat
    MENTION = "mention"  # @bot in a group
    REPLY = "reply"  # a reply to one of the bot's messages
    COMMAND = "command"  # /command (or /command@bot)
    NONE = "none"  # not for the bot: keep as context, never answer


class Trust(StrEnum):
    """Who is speaking, as far as the channel can tell."""

    OWNER = "owner"
    ALLOWED = "allowed"
    UNKNOWN = "unknown"


class ChatKind(StrEnum):
    """Where the message was said: a one-to-one chat or a chat with others in it."""

    DIRECT = "direct"
    GROUP = "group"


class Origin(StrEnum):
    """How words the sender did not write came to be in their message."""

    FORWARDED_MAIL = "forwarded_mail"  # a mail forwarded to Kith (the email channel)
    FORWARDED_MESSAGE = "forwarded_message"  # a chat message forwarded from someone else
    QUOTED_REPLY = "quoted_reply"  # the message a reply quotes
    # Text in the sender's message that the adapter could not attribute to them: from the
    # first line that may be someone else's (a pasted forward, an unknown forward format).
    UNATTRIBUTED = "unattributed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Quoted:
    """Words the sender did not write. Data, never instructions, never learned from.

    ``author`` and ``subject`` are what the quoted content claims about itself (a display
    name, a mail's From and Subject): shown to the model as data, never trusted.
    """

    origin: Origin
    text: str
    author: str = ""
    subject: str = ""

    def __post_init__(self) -> None:
        for name in ("text", "author", "subject"):
            object.__setattr__(self, name, valid(getattr(self, name)))


@dataclass(frozen=True, slots=True)
class Sender:
    """The platform identity of whoever sent a message.

    ``namespace`` says where ``platform_id`` is unique; senders with the same namespace and
    id are one person. Empty means the channel's name. Channels that share an id space set
    it: WhatsApp via Twilio and via the Cloud API both use ``"tel"`` (E.164 numbers).
    """

    platform_id: str
    display_name: str = ""
    namespace: str = ""

    def __post_init__(self) -> None:  # text from the platform: valid Unicode from here on
        object.__setattr__(self, "platform_id", valid(self.platform_id))
        object.__setattr__(self, "display_name", valid(self.display_name))

    def identity_space(self, channel: str) -> str:
        return self.namespace or channel


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file that came with a message; ``ref`` lets the adapter fetch it lazily."""

    kind: str  # image, audio, video, document, location, sticker, other
    ref: str  # platform file id or URL — opaque to the core
    name: str = ""
    mime_type: str = ""
    size: int | None = None  # bytes, when the platform says
    duration: float | None = None  # seconds (audio/video), when the platform says
    quoted: bool = False  # part of words the sender did not write (a forward, a forwarded mail)


@dataclass(frozen=True, slots=True)
class ScheduledTurn:
    """A turn Kith starts itself: a reminder or briefing that came due (no one wrote it)."""

    schedule_id: str
    kind: str  # reminder, briefing
    text: str  # what to remind of ("" for a briefing)
    due_at: datetime  # the occurrence this turn is for (UTC)
    timezone: str  # the person's IANA zone when it was set


@dataclass(frozen=True, slots=True)
class Decision:
    """The person pressed a platform control answering a proposed action (a Telegram inline
    button, a WhatsApp reply button): which action, yes or no (see core.actions)."""

    action_id: str
    approve: bool


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """One incoming message, normalized. ``id`` is globally unique and the dedupe key.

    Keyword-only, and the fields that decide trust (``trust``, ``addressed``, ``chat``) have
    no defaults: an adapter has to say who is speaking, why, and where. ``text`` is only
    the sender's own words; anything they forwarded or quoted travels in ``quoted``.
    """

    id: InboundId
    conversation: ConversationKey
    sender: Sender
    text: str
    trust: Trust
    addressed: Addressed
    chat: ChatKind
    quoted: tuple[Quoted, ...] = ()
    received_at: datetime = field(default_factory=utcnow)
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None
    scheduled: ScheduledTurn | None = None  # set only on turns Kith starts itself
    decision: Decision | None = None  # set only when a platform control answers a proposal
    # The platform's own id of this message, set by the adapter's decoder (None for turns
    # Kith starts itself and for platform controls): what a reply refers to.
    platform_message_id: PlatformMessageId | None = None
    raw: Any = field(default=None, compare=False, repr=False)  # debugging only; core never reads

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("Inbound.id must not be empty")
        object.__setattr__(self, "id", InboundId(valid(self.id)))  # valid Unicode from here on
        object.__setattr__(self, "text", valid(self.text))
        if self.received_at.tzinfo is None:
            raise ValueError("Inbound.received_at must be timezone-aware")
        for name, kind in (("trust", Trust), ("addressed", Addressed), ("chat", ChatKind)):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"Inbound.{name} must be a {kind.__name__}")
        if not all(isinstance(q, Quoted) for q in self.quoted):
            raise TypeError("Inbound.quoted must hold Quoted values")

    @property
    def wants_answer(self) -> bool:
        return self.addressed is not Addressed.NONE

    @property
    def is_group(self) -> bool:
        """Derived from ``chat``, for readability at call sites."""
        return self.chat is ChatKind.GROUP


class ReplyStatus(StrEnum):
    OK = "ok"  # the model answered in full
    COMMAND = "command"  # a slash command answered by the core itself
    FAILED = "failed"  # the model could not be reached; the text is an honest notice
    INTERRUPTED = "interrupted"  # the model stopped mid-reply; the text is partial + notice
    REFUSED = "refused"  # unknown sender: a pairing prompt, nothing else


@dataclass(frozen=True, slots=True)
class Outbound:
    """A complete reply, as delivered; adapters return it so the core can record it."""

    conversation: ConversationKey
    in_reply_to: InboundId
    text: str
    status: ReplyStatus = ReplyStatus.OK
    platform_ids: tuple[PlatformMessageId, ...] = ()  # ids of the messages the platform created
