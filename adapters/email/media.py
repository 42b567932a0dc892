"""Audio and image attachments of a mail, as :class:`Attachment` values and, on demand, bytes.

The ref is ``<spool name>:<N>``, the part's position in a walk of the MIME tree; the bytes
come from the spooled mail, so nothing is decoded until the turn asks. Inline images with a
Content-ID (logos, signatures) are not attachments. Attachments of a mail the owner
forwarded are someone else's words: they are marked ``quoted``.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from core.events import Attachment
from core.media import Fetched, MediaTooLarge, MediaUnavailable

MAX_MEDIA = 4
MAX_PARTS = 200


def _parts(raw: bytes) -> list[EmailMessage]:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    return [p for p in list(message.walk())[:MAX_PARTS] if isinstance(p, EmailMessage)]


def _media(part: EmailMessage) -> str | None:
    kind = part.get_content_maintype()
    if kind not in ("audio", "image") or part.is_multipart():
        return None
    if kind == "image" and part["content-id"] and part.get_content_disposition() != "attachment":
        return None
    return kind


def media_attachments(raw: bytes, spooled: str, forwarded: bool) -> tuple[Attachment, ...]:
    """The mail's audio and image parts (pure; never raises on odd mail)."""
    found: list[Attachment] = []
    try:
        parts = _parts(raw)
    except Exception:  # the stdlib parser has rare crashes on hostile input
        return ()
    for index, part in enumerate(parts):
        kind = _media(part)
        if kind is None:
            continue
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else None
        found.append(Attachment(kind=kind, ref=f"{spooled}:{index}", name=part.get_filename() or "",
                                mime_type=part.get_content_type(), size=size,
                                quoted=forwarded))
        if len(found) == MAX_MEDIA:
            break
    return tuple(found)


def spool_name(attachment: Attachment) -> str:
    name, _, number = attachment.ref.partition(":")
    if len(name) != 32 or not all(c in "0123456789abcdef" for c in name) or not number:
        raise MediaUnavailable("not an email attachment ref")
    return name


def extract(raw: bytes, attachment: Attachment, limit: int) -> Fetched:
    """The decoded bytes of the part ``attachment.ref`` names."""
    _, _, number = attachment.ref.partition(":")
    parts = _parts(raw) if raw else []
    if not number.isdigit() or int(number) >= len(parts) or _media(parts[int(number)]) is None:
        raise MediaUnavailable("the mail has no such attachment (any more)")
    payload = parts[int(number)].get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise MediaUnavailable("the attachment has no content")
    if len(payload) > limit:
        raise MediaTooLarge(len(payload), limit)
    return Fetched(payload, parts[int(number)].get_content_type())
