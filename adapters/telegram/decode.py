"""Telegram Update JSON → :class:`Inbound` (pure): who is speaking, and was the bot addressed.

Never raises on odd payloads: anything unexpected is ignored (``None``).
"""

from __future__ import annotations

from dataclasses import dataclass
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

GROUP_TYPES = ("group", "supergroup")
MAX_QUOTED = 8192  # Telegram texts are at most 4096 characters; captions 1024
_MEDIA = (("photo", "image"), ("document", "document"), ("voice", "audio"),
          ("audio", "audio"), ("video", "video"), ("video_note", "video"),
          ("animation", "video"))


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything ``to_inbound`` needs besides the update: the bot and the access rules."""

    bot: str  # Kith's bot name
    bot_id: int
    username: str  # the bot's Telegram username, without '@'
    owners: frozenset[int] = frozenset()
    allowed_users: frozenset[int] = frozenset()
    allowed_groups: frozenset[int] = frozenset()
    context_groups: frozenset[int] = frozenset()
    context_all: bool = False
    bare_commands: bool = False

    def keeps_context(self, chat_id: int) -> bool:
        return self.context_all or chat_id in self.context_groups


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _utf16_slice(text: str, offset: Any, length: Any) -> str:
    off, ln = _int(offset), _int(length)
    if off is None or ln is None or off < 0 or ln < 0:
        return ""
    raw = text.encode("utf-16-le", "surrogatepass")
    return raw[2 * off: 2 * (off + ln)].decode("utf-16-le", "replace")


def message_of(update: Any) -> dict[str, Any] | None:
    """The new message of a message update; edits, channel posts and others are None."""
    if not isinstance(update, dict):
        return None
    message = update.get("message")
    return message if isinstance(message, dict) else None


def addressing(message: dict[str, Any], policy: Policy) -> Addressed | None:
    """How a group message addresses the bot; None when it does not."""
    text = _str(message.get("text")) or _str(message.get("caption"))
    entities = message.get("entities") or message.get("caption_entities")
    me = "@" + policy.username.lower()
    for entity in entities if isinstance(entities, list) else []:
        entity = _dict(entity)
        kind = entity.get("type")
        piece = _utf16_slice(text, entity.get("offset"), entity.get("length")).lower()
        if kind == "mention" and piece == me:
            return Addressed.MENTION
        if kind == "text_mention" and _int(_dict(entity.get("user")).get("id")) == policy.bot_id:
            return Addressed.MENTION
        if kind == "bot_command" and entity.get("offset") == 0:
            _, at, target = piece.partition("@")
            if (at and target == policy.username.lower()) or (not at and policy.bare_commands):
                return Addressed.COMMAND
    replied = real_reply(message)
    if replied and _int(_dict(replied.get("from")).get("id")) == policy.bot_id:
        return Addressed.REPLY
    return None


def real_reply(message: dict[str, Any]) -> dict[str, Any]:
    """The message this one answers, or {}. In a forum topic Telegram points every message
    at the topic's creation message: that is where it was written, not a reply (and when
    the bot created the topic it would look like a reply to the bot)."""
    replied = _dict(message.get("reply_to_message"))
    if not replied or "forum_topic_created" in replied:
        return {}
    if message.get("is_topic_message") and \
            _int(replied.get("message_id")) == _int(message.get("message_thread_id")):
        return {}
    return replied


def _sender(message: dict[str, Any]) -> Sender | None:
    user = _dict(message.get("from"))
    uid = _int(user.get("id"))
    if uid is not None:
        name = " ".join(p for p in (_str(user.get("first_name")), _str(user.get("last_name")))
                        if p) or _str(user.get("username"))
        return Sender(platform_id=str(uid), display_name=name)
    chat = _dict(message.get("sender_chat"))
    cid = _int(chat.get("id"))
    if cid is not None:
        return Sender(platform_id=f"chat{cid}", display_name=_str(chat.get("title")))
    return None


def _trust(sender: Sender, policy: Policy, group_allowed: bool) -> Trust:
    uid = int(sender.platform_id) if sender.platform_id.lstrip("-").isdigit() else None
    if uid is not None and uid in policy.owners:
        return Trust.OWNER
    if group_allowed or (uid is not None and uid in policy.allowed_users):
        return Trust.ALLOWED
    return Trust.UNKNOWN


def attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    for key, kind in _MEDIA:
        value = message.get(key)
        if isinstance(value, list):  # photo: sizes, smallest first
            value = value[-1] if value else None
        item = _dict(value)
        ref = _str(item.get("file_id"))
        if ref:
            found.append(Attachment(
                kind=kind, ref=ref, name=_str(item.get("file_name")),
                mime_type=_str(item.get("mime_type")) or ("image/jpeg" if kind == "image" else ""),
                size=_int(item.get("file_size")), duration=_int(item.get("duration")),
                quoted=bool(_dict(message.get("forward_origin"))),
            ))
    return tuple(found)


def _name(who: dict[str, Any]) -> str:
    return " ".join(p for p in (_str(who.get("first_name")), _str(who.get("last_name"))) if p) \
        or _str(who.get("title")) or _str(who.get("username"))


def _body(message: dict[str, Any], files: tuple[Attachment, ...]) -> str:
    text = _str(message.get("text")) or _str(message.get("caption"))
    return text or (f"[{files[0].kind}]" if files else "")


def _forward_origin(message: dict[str, Any]) -> str | None:
    """Who a forwarded message came from ("" when hidden); None when it is not a forward."""
    origin = _dict(message.get("forward_origin"))
    if origin:
        who = _dict(origin.get("sender_user")) or _dict(origin.get("chat")) \
            or _dict(origin.get("sender_chat"))
        return _name(who) or _str(origin.get("sender_user_name"))
    legacy = _dict(message.get("forward_from")) or _dict(message.get("forward_from_chat"))
    if legacy or "forward_sender_name" in message or "forward_date" in message:
        return _name(legacy) or _str(message.get("forward_sender_name"))
    return None


def _quoted_reply(message: dict[str, Any], policy: Policy) -> Quoted | None:
    """The message a reply quotes (a partial quote when the person chose one), unless it is
    one of the bot's own: those are in the history already."""
    replied = _dict(message.get("reply_to_message"))
    external = _dict(message.get("external_reply"))
    if _int(_dict(replied.get("from")).get("id")) == policy.bot_id:
        return None
    text = _str(_dict(message.get("quote")).get("text"))
    source = replied or external
    if not text and source:
        text = _str(source.get("text")) or _str(source.get("caption"))
    if not text.strip():
        return None
    author = _name(_dict(replied.get("from")) or _dict(replied.get("sender_chat")))
    if not author and external:
        author = _forward_origin({"forward_origin": external.get("origin")}) or ""
    return Quoted(origin=Origin.QUOTED_REPLY, text=text[:MAX_QUOTED], author=author)


def content(message: dict[str, Any], files: tuple[Attachment, ...],
            policy: Policy) -> tuple[str, tuple[Quoted, ...]]:
    """(the sender's own words, the words they forwarded or quoted)."""
    body = _body(message, files)
    forwarded_from = _forward_origin(message)
    if forwarded_from is not None:  # the whole message is someone else's
        if not body:
            return "", ()
        return "", (Quoted(origin=Origin.FORWARDED_MESSAGE, text=body[:MAX_QUOTED],
                           author=forwarded_from),)
    reply = _quoted_reply(message, policy)
    own, unsure = attribution.split(body)  # a pasted forward is not theirs either
    return own, ((reply,) if reply is not None and body else ()) + unsure


def to_inbound(update: Any, policy: Policy) -> Inbound | None:
    """A new private/group message the core should see, else None (pure, never raises)."""
    message = message_of(update)
    if message is None:
        return None
    chat = _dict(message.get("chat"))
    chat_id, message_id = _int(chat.get("id")), _int(message.get("message_id"))
    sender = _sender(message)
    if chat_id is None or message_id is None or sender is None:
        return None
    files = attachments(message)
    text, quoted = content(message, files, policy)
    if not text and not quoted:
        return None  # stickers, service messages (joins, migrations), polls, ...
    kind = chat.get("type")
    if kind == "private":
        addressed, group_allowed = Addressed.DIRECT, False
    elif kind in GROUP_TYPES and chat_id in policy.allowed_groups:
        group_allowed = True
        found = addressing(message, policy)
        if found is None and not policy.keeps_context(chat_id):
            return None
        addressed = found or Addressed.NONE
    else:
        return None
    replied = _int(real_reply(message).get("message_id"))
    thread = _int(message.get("message_thread_id")) if message.get("is_topic_message") else None
    return Inbound(
        id=InboundId(f"telegram:{policy.bot}:{chat_id}:{message_id}"),
        platform_message_id=PlatformMessageId(str(message_id)),
        conversation=ConversationKey(policy.bot, "telegram", str(chat_id),
                                     str(thread) if thread is not None else None),
        sender=sender,
        text=text,
        quoted=quoted,
        attachments=files,
        reply_to=str(replied) if replied is not None else None,
        addressed=addressed,
        trust=_trust(sender, policy, group_allowed),
        chat=ChatKind.GROUP if kind in GROUP_TYPES else ChatKind.DIRECT,
        raw=update,
    )


def joined_unknown_group(update: Any, policy: Policy) -> int | None:
    """The chat id when this update says the bot was added to a group it may not serve."""
    if not isinstance(update, dict):
        return None
    change = _dict(update.get("my_chat_member"))
    chat = _dict(change.get("chat"))
    chat_id = _int(chat.get("id"))
    if chat_id is None or chat.get("type") not in GROUP_TYPES or chat_id in policy.allowed_groups:
        return None
    new = _dict(change.get("new_chat_member"))
    if _int(_dict(new.get("user")).get("id")) != policy.bot_id:
        return None
    return chat_id if new.get("status") in ("member", "administrator") else None


def message_id_of(inbound: Inbound) -> int | None:
    """The Telegram ``message_id`` a reply to ``inbound`` refers to (None for turns Kith
    starts itself and for button presses)."""
    ref = inbound.platform_message_id
    return int(ref) if ref is not None and ref.isdigit() else None
