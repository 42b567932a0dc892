"""Matrix events → :class:`Inbound`, from the event's JSON source alone (pure, never raises).

The channel hands over the (already decrypted) event dict and a :class:`RoomInfo` snapshot;
``to_inbound`` decides whether the bot is addressed and returns ``None`` for everything it
ignores: its own events, edits, redactions, reactions, notices from other bots' loops are
kept as context, unknown types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from adapters.kit import attribution
from core.events import (
    Addressed,
    Attachment,
    ChatKind,
    ConversationKey,
    Inbound,
    Origin,
    Quoted,
    Sender,
    Trust,
)
from core.ids import InboundId, PlatformMessageId

MAX_TEXT = 32_000
_FILE_KINDS = {"m.image": "image", "m.file": "document", "m.audio": "audio",
               "m.video": "video"}


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What the decoder needs to know about the bot and the room, as plain values."""

    bot: str  # the Kith bot name
    user_id: str  # the bot's MXID
    display_name: str = ""  # the bot's display name in this room
    member_count: int = 0
    member_names: Mapping[str, str] = field(default_factory=dict)  # MXID → display name
    bot_events: Collection[str] = ()  # ids of events the bot sent (reply detection)
    owners: Collection[str] = ()
    allowed_users: Collection[str] = ()
    allowed_servers: Collection[str] = ()
    command_prefix: str = "!kith"

    @property
    def is_direct(self) -> bool:
        return self.member_count == 2


def server_of(user_id: str) -> str:
    """``@alice:example.org`` → ``example.org`` (user ids always carry a server name)."""
    return user_id.partition(":")[2]


def trust_of(user_id: str, room: RoomInfo) -> Trust:
    if user_id in room.owners:
        return Trust.OWNER
    if user_id in room.allowed_users or server_of(user_id) in room.allowed_servers:
        return Trust.ALLOWED
    return Trust.UNKNOWN


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def relation(content: Mapping[str, Any]) -> tuple[str, str, str]:
    """(rel_type, related event id, replied-to event id) of ``m.relates_to``."""
    rel = _dict(content.get("m.relates_to"))
    reply = _str(_dict(rel.get("m.in_reply_to")).get("event_id"))
    return _str(rel.get("rel_type")), _str(rel.get("event_id")), reply


_FALLBACK_AUTHOR = re.compile(r"^(?:\* )?<(@[^>\s]{1,255})>\s?")


def reply_fallback(body: str) -> tuple[str, Quoted | None]:
    """(the body after the ``> <@user> quoted`` lines legacy clients put before a reply,
    those lines as the quote they are: someone else's words, never the sender's)."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body, None
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    quoted = [line[1:].removeprefix(" ") for line in lines[:index]]
    author = ""
    match = _FALLBACK_AUTHOR.match(quoted[0])
    if match is not None:
        author, quoted[0] = match.group(1), quoted[0][match.end():]
    text = "\n".join(quoted).strip()
    rest = "\n".join(lines[index:]).lstrip("\n")
    if not text:
        return rest, None
    return rest, Quoted(origin=Origin.QUOTED_REPLY, text=text[:MAX_TEXT], author=author)


def _mentions(content: Mapping[str, Any], body: str, room: RoomInfo) -> bool:
    ids = _dict(content.get("m.mentions")).get("user_ids")
    if isinstance(ids, list) and room.user_id in ids:
        return True
    lowered = body.casefold()
    if room.user_id.casefold() in lowered:
        return True
    name = room.display_name.strip()
    if name:
        pattern = r"(?<!\w)@?" + re.escape(name.casefold()) + r"(?!\w)"
        return re.search(pattern, lowered) is not None
    return False


def addressing(content: Mapping[str, Any], body: str, reply_to: str,
               room: RoomInfo) -> tuple[Addressed, str]:
    """Why the bot should answer, and the text with a command prefix removed."""
    prefix = room.command_prefix
    if prefix and (body == prefix or body.startswith(prefix + " ")):
        return Addressed.COMMAND, body[len(prefix):].strip() or "/help"
    if room.is_direct:
        return Addressed.DIRECT, body
    if body.startswith("/"):
        return Addressed.COMMAND, body
    if reply_to and reply_to in room.bot_events:
        return Addressed.REPLY, body
    if _mentions(content, body, room):
        return Addressed.MENTION, body
    return Addressed.NONE, body


def _attachment(msgtype: str, content: Mapping[str, Any]) -> Attachment | None:
    kind = _FILE_KINDS.get(msgtype)
    if kind is None:
        return None
    info = _dict(content.get("info"))
    encrypted = _dict(content.get("file"))
    if encrypted and _str(encrypted.get("url")):
        # The key material is needed to decrypt the download; the ref is opaque to the core.
        ref = "enc:" + json.dumps(encrypted, sort_keys=True, separators=(",", ":"))
    else:
        ref = _str(content.get("url"))
    if not ref:
        return None
    size, millis = info.get("size"), info.get("duration")
    return Attachment(
        kind=kind, ref=ref, name=_str(content.get("filename")) or _str(content.get("body")),
        mime_type=_str(info.get("mimetype")),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        duration=millis / 1000 if isinstance(millis, int) and not isinstance(millis, bool)
        and millis >= 0 else None,
    )


def thread_root(content: Mapping[str, Any]) -> str | None:
    rel_type, event_id, _ = relation(content)
    return event_id if rel_type == "m.thread" and event_id else None


def to_inbound(event: Any, room: RoomInfo) -> Inbound | None:
    """A timeline event (JSON source) as an Inbound, or None when the bot ignores it."""
    try:
        return _decode(_dict(event), room)
    except (ValueError, TypeError, OverflowError):
        return None


def _decode(event: dict[str, Any], room: RoomInfo) -> Inbound | None:
    sender, event_id = _str(event.get("sender")), _str(event.get("event_id"))
    room_id = _str(event.get("room_id"))
    if event.get("type") != "m.room.message" or not sender or not event_id or not room_id:
        return None
    if sender == room.user_id or "state_key" in event:
        return None
    content = _dict(event.get("content"))
    msgtype, body = _str(content.get("msgtype")), _str(content.get("body"))
    rel_type, _, reply_to = relation(content)
    if rel_type == "m.replace" or "m.new_content" in content:
        return None  # an edit: the original was answered already
    attachment = _attachment(msgtype, content)
    if msgtype not in ("m.text", "m.notice", "m.emote") and attachment is None:
        return None
    name = room.member_names.get(sender, "") or sender
    text, fallback = reply_fallback(body)
    text = text[:MAX_TEXT]
    quoted: tuple[Quoted, ...] = ()
    if fallback is not None and reply_to not in room.bot_events:  # the bot's own: in history
        quoted = (fallback,)
    if attachment is not None:  # the body is a caption only when a filename is given
        filename = _str(content.get("filename"))
        text = text if filename and body != filename else ""
    if msgtype == "m.emote":
        text = f"* {name} {text}"
    addressed, text = addressing(content, text.strip(), reply_to, room)
    if msgtype == "m.notice":
        addressed = Addressed.NONE  # bots speak in notices; never answer one (no loops)
    text, unsure = attribution.split(text)  # a pasted forward is not theirs either
    quoted += unsure
    if not text and not quoted and attachment is None:
        return None
    ts = event.get("origin_server_ts")
    received = (datetime.fromtimestamp(ts / 1000, UTC)
                if isinstance(ts, int) and not isinstance(ts, bool) and 0 < ts < 2**45
                else datetime.now(UTC))
    return Inbound(
        id=InboundId(f"matrix:{room.bot}:{event_id}"),
        platform_message_id=PlatformMessageId(event_id),
        conversation=ConversationKey(room.bot, "matrix", room_id, thread_root(content)),
        sender=Sender(platform_id=sender, display_name=name),
        text=text,
        quoted=quoted,
        received_at=received,
        attachments=(attachment,) if attachment is not None else (),
        reply_to=f"matrix:{room.bot}:{reply_to}" if reply_to else None,
        addressed=addressed,
        trust=trust_of(sender, room),
        chat=ChatKind.DIRECT if room.is_direct else ChatKind.GROUP,
        raw=event,
    )


def after_own_join(events: list[dict[str, Any]], user_id: str) -> list[dict[str, Any]]:
    """The timeline events after the bot's own join (history from before it is ignored)."""
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if (event.get("type") == "m.room.member" and event.get("state_key") == user_id
                and _dict(event.get("content")).get("membership") == "join"
                and _dict(_dict(event.get("unsigned")).get("prev_content")).get("membership")
                != "join"):
            return events[index + 1:]
    return events


def inviter(invite_state: list[Any], user_id: str) -> str | None:
    """Who invited the bot, from a room's stripped invite state."""
    for event in invite_state:
        event = _dict(event)
        if (event.get("type") == "m.room.member" and event.get("state_key") == user_id
                and _dict(event.get("content")).get("membership") == "invite"):
            sender = _str(event.get("sender"))
            return sender or None
    return None
