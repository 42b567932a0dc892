"""The forwarded mail as quoted content, and the reply email that carries the draft back.

The forwarded email is third-party data: it travels as a :class:`Quoted` part of the
Inbound, never in its text, and ``core.quoting`` delimits and neutralizes it in the prompt.
The owner's note is their own words. The reply's recipients never come from the mail or the
model: the caller passes the configured owner address, and the ready-to-send reply.eml goes
to the forwarded mail's sender *address* (never its display name).
"""

from __future__ import annotations

import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid

from adapters.email.addresses import ADDR_SPEC, Address
from adapters.email.parse import Forwarded, ParsedMail
from core.events import Origin, Quoted
from core.quoting import CUT, strip_invisible


def clean_owner(text: str) -> str:
    """The owner's own note: trusted, but invisible characters still go."""
    return strip_invisible(text).strip()


def address_line(addresses: tuple[Address, ...]) -> str:
    """Addresses as text for the model to read (never a header that is parsed again)."""
    return ", ".join(_shown(a) for a in addresses)


def _shown(address: Address) -> str:
    if not address.addr:
        return address.name
    try:
        return formataddr((address.name, address.addr))
    except UnicodeEncodeError:  # a non-ASCII address: formataddr insists on ASCII
        return f"{address.name} <{address.addr}>" if address.name else address.addr


def forwarded_quote(fwd: Forwarded, limit: int) -> Quoted:
    """The forwarded mail as quoted content: its headers (as data) and its body, cut."""
    lines = []
    if fwd.to:
        lines.append("To: " + address_line(fwd.to))
    if fwd.cc:
        lines.append("Cc: " + address_line(fwd.cc))
    if fwd.date:
        lines.append(f"Date: {fwd.date}")
    if fwd.attachments:
        lines.append("Attachments (names only): " + ", ".join(fwd.attachments))
    body = fwd.body if len(fwd.body) <= limit else fwd.body[:limit] + CUT
    head = "\n".join(lines)
    return Quoted(origin=Origin.FORWARDED_MAIL, text=(head + "\n\n" if head else "") + body,
                  author=address_line((fwd.sender,)) if fwd.sender else "",
                  subject=fwd.subject)


# -- the emails that go out -----------------------------------------------------------------


def _one_line(value: str, limit: int = 200) -> str:
    return " ".join(clean_owner(value).split())[:limit]


def reply_subject(subject: str) -> str:
    subject = _one_line(subject)
    return subject if re.match(r"^\s*re\s*:", subject, re.I) else f"Re: {subject}".strip()


def _msgid(value: str) -> str:
    value = value.strip()
    return value if re.fullmatch(r"<[^<>\s]{1,250}>", value) else ""


def recipient(sender: Address | None) -> HeaderAddress | None:
    """The To of reply.eml: the sender's parsed address, as a structured header value.

    The display name is only ever a name: it is decoded (RFC 2047) and given to the email
    package as ``display_name``, which quotes or encodes it, so nothing in it can become
    an address. A string header (``formataddr`` included) would be parsed again, and a
    non-ASCII name like ``"José, <x@evil.test>"`` would turn into a recipient.
    """
    if sender is None or not ADDR_SPEC.fullmatch(sender.addr.strip()):
        return None
    try:
        return HeaderAddress(display_name=_one_line(decoded(sender.name), 100),
                             addr_spec=sender.addr.strip())
    except (ValueError, IndexError, TypeError):  # an addr-spec the policy will not take
        return None


def decoded(name: str) -> str:
    try:
        return str(make_header(decode_header(name)))
    except (ValueError, LookupError, UnicodeError, HeaderParseError):
        return name


def ready_to_send(mail: ParsedMail, owner: str, draft: str) -> EmailMessage | None:
    """The reply the owner can send as is: To the original sender, threaded under it."""
    fwd = mail.forwarded
    to = recipient(fwd.sender)
    if to is None:
        return None
    reply = EmailMessage()
    reply["From"] = owner
    reply["To"] = to
    reply["Subject"] = reply_subject(fwd.subject or mail.subject)
    original = _msgid(fwd.message_id)
    if original:
        refs = [r for r in (_msgid(x) for x in fwd.references[-20:]) if r]
        reply["In-Reply-To"] = original
        reply["References"] = " ".join([*refs, original])
    reply["X-Unsent"] = "1"  # mail clients open it as a draft to send
    reply.set_content(draft)
    return reply


def delivery(
    mail: ParsedMail, owner: str, kith_address: str, draft: str, ok: bool, *,
    ready: bool,
) -> tuple[EmailMessage, EmailMessage | None]:
    """(the mail to the owner, the ready-to-send reply attached to it or None).
    ``ready=False``: no reply.eml (who the forward came from is not certain)."""
    message = EmailMessage()
    message["From"] = kith_address
    message["To"] = owner  # the configured owner: never an address from the mail or model
    message["Subject"] = ("Draft: " if ok else "No draft: ") + reply_subject(
        mail.forwarded.subject or mail.subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=kith_address.rsplit("@", 1)[-1])
    outer = _msgid(mail.message_id)
    if outer:
        refs = [r for r in (_msgid(x) for x in mail.references[-20:]) if r]
        message["In-Reply-To"] = outer
        message["References"] = " ".join([*refs, outer])
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(draft)
    eml = ready_to_send(mail, owner, draft) if ok and ready else None
    if eml is not None:
        message.add_attachment(eml.as_bytes(policy=SMTP), maintype="application",
                               subtype="octet-stream", filename="reply.eml")
    return message, eml


def notice(owner: str, kith_address: str, subject: str, reason: str) -> EmailMessage:
    """A short note to the owner that a forwarded mail could not be read (nothing drafted)."""
    message = EmailMessage()
    message["From"] = kith_address
    message["To"] = owner
    message["Subject"] = "Not drafted: " + reply_subject(subject)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=kith_address.rsplit("@", 1)[-1])
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(f"I could not read the mail you forwarded: {reason}. Nothing was "
                        "drafted. Forward the message alone, or paste its text into a new mail.")
    return message
